# Copyright (c) mmsolo contributors. All rights reserved.
