# Copyright (c) mmsolo contributors. All rights reserved.
from .contour_visualizer import ContourVisualizer, instance_colors

__all__ = ['ContourVisualizer', 'instance_colors']
