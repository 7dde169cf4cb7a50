# Copyright (c) mmsolo contributors. All rights reserved.
"""Run an mmsolo model on every frame of a video and draw its masks.

Example::

    python demo/video_demo.py VIDEO.mp4 \\
        configs/quickstart/decoupled-solo-light_r18_fpn_shapes.py \\
        --weights work_dirs/quickstart/latest.pth --out outputs/video.mp4

Every frame goes through the config's test pipeline and the model
(mmdet's ``inference_detector``); masks, labels and scores are drawn by the
config's visualizer. At the end it prints the frames per second of the
model alone (pipeline + forward + post-processing) and of the whole loop
(with reading, drawing and writing). SOLO-512
(``configs/solo/solo-512_r50_fpn_6x_coco.py``) is the real-time variant.
"""
import argparse
import copy
import os
import time
from typing import Optional, Sequence

import cv2
import mmcv
from mmengine.utils import track_iter_progress


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description='mmsolo video demo')
    parser.add_argument('video', help='video file')
    parser.add_argument('config', help='config file of the model')
    parser.add_argument('--weights', required=True, help='checkpoint file')
    parser.add_argument(
        '--device', default='cpu', help='device, e.g. cpu or cuda:0')
    parser.add_argument(
        '--score-thr',
        type=float,
        default=0.3,
        help='draw instances scoring at least this')
    parser.add_argument('--out', type=str, help='output video file (.mp4)')
    parser.add_argument('--show', action='store_true', help='show the video')
    parser.add_argument(
        '--wait-time',
        type=float,
        default=1,
        help='the interval of show (s), 0 is block')
    return parser.parse_args(argv)


def build_test_pipeline(cfg):
    """The config's test pipeline for in-memory frames, without annotations.
    """
    from mmcv.transforms import Compose
    from mmdet.utils import get_test_pipeline_cfg
    pipeline = [
        copy.deepcopy(t) for t in get_test_pipeline_cfg(cfg)
        if not t['type'].endswith('LoadAnnotations')
    ]
    pipeline[0]['type'] = 'mmdet.LoadImageFromNDArray'
    return Compose(pipeline)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the demo.

    Args:
        argv (Sequence[str], optional): Command line.

    Returns:
        dict: ``frames``, ``model_fps`` and ``fps`` (whole loop).
    """
    args = parse_args(argv)
    if not (args.out or args.show):
        raise SystemExit('Please specify at least one operation (save/show '
                         'the video) with the argument "--out" or "--show"')
    from mmdet.apis import inference_detector, init_detector

    from mmsolo.registry import VISUALIZERS

    model = init_detector(args.config, args.weights, device=args.device)
    test_pipeline = build_test_pipeline(model.cfg)
    visualizer = VISUALIZERS.build(model.cfg.visualizer)
    visualizer.dataset_meta = model.dataset_meta

    video_reader = mmcv.VideoReader(args.video)
    video_writer = None
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        video_writer = cv2.VideoWriter(
            args.out, cv2.VideoWriter_fourcc(*'mp4v'), video_reader.fps,
            (video_reader.width, video_reader.height))

    frames, model_time = 0, 0.0
    start = time.perf_counter()
    for frame in track_iter_progress((video_reader, len(video_reader))):
        t0 = time.perf_counter()
        result = inference_detector(model, frame, test_pipeline=test_pipeline)
        model_time += time.perf_counter() - t0
        visualizer.add_datasample(
            name='video',
            image=mmcv.bgr2rgb(frame),
            data_sample=result,
            draw_gt=False,
            show=False,
            pred_score_thr=args.score_thr)
        drawn = mmcv.rgb2bgr(visualizer.get_image())
        if args.show:
            cv2.namedWindow('video', 0)
            mmcv.imshow(drawn, 'video', args.wait_time)
        if video_writer:
            video_writer.write(drawn)
        frames += 1
    total_time = time.perf_counter() - start
    if video_writer:
        video_writer.release()
    if args.show:
        cv2.destroyAllWindows()
    stats = dict(
        frames=frames,
        model_fps=frames / max(model_time, 1e-9),
        fps=frames / max(total_time, 1e-9))
    print(f'{frames} frames: {stats["model_fps"]:.2f} FPS for the model '
          f'(pipeline + inference), {stats["fps"]:.2f} FPS with reading, '
          'drawing and writing')
    return stats


if __name__ == '__main__':
    main()
