# Copyright (c) mmsolo contributors. All rights reserved.
"""Draw SOLO's mask activation maps (paper Fig. 4) for one image.

For each FPN level (``--level``, default: all) writes
``OUT_DIR/<image name>_level<L>.png``: on the left the S x S mosaic of the
level's soft masks, tile (i, j) being the mask of grid cell (i, j) (row i,
column j; for the decoupled heads the product of the X and Y channels)
over the image area, zoomed out; on the right the model's final instances
drawn on the image. Tiles of candidate cells, whose category score (after
the point NMS of the post-processing) is at least ``--score-thr``, are
outlined in red.

The mosaic comes from the head's forward pass on the image alone; the
final result is the model's prediction as ``tools/test.py`` makes it (with
the config's ``test_cfg.tta_flips`` if any).

Example::

    python tools/analysis_tools/vis_mask_activations.py \\
        configs/quickstart/decoupled-solo-light_r18_fpn_shapes.py \\
        work_dirs/quickstart/epoch_21.pth data/shapes/val/000000.jpg \\
        --out-dir work_dirs/activations
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional, Sequence

import cv2
import mmcv
import numpy as np
import torch

try:  # version checks, registries
    import mmsolo  # noqa: F401
except ModuleNotFoundError as e:  # not installed: use this checkout
    if e.name != 'mmsolo':
        raise
    sys.path.insert(
        0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    import mmsolo  # noqa: F401

from mmsolo.utils.tool_config import (CFG_OPTIONS_HELP_BRIEF,
                                      add_cfg_options_arg, load_tool_config)
from mmsolo.utils.tool_data import add_model_args

OUTLINE = (255, 0, 0)  # RGB


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='S x S mosaic of the soft masks of each FPN level beside '
        'the final instances (paper Fig. 4)')
    add_model_args(parser)
    parser.add_argument('image', help='image file')
    parser.add_argument(
        '--out-dir', required=True, help='where to write the PNGs')
    parser.add_argument(
        '--level',
        type=int,
        help='FPN level index (0 = finest); default: every level')
    parser.add_argument(
        '--score-thr',
        type=float,
        help='outline cells scoring at least this; default: the config\'s '
        'model.test_cfg.score_thr')
    parser.add_argument(
        '--show-score-thr',
        type=float,
        default=0.3,
        help='draw final instances scoring at least this')
    parser.add_argument(
        '--tile', type=int, default=24, help='tile size in pixels')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    add_cfg_options_arg(parser, CFG_OPTIONS_HELP_BRIEF)
    return parser.parse_args(argv)


def load_batch(cfg, image: str) -> dict:
    """The image through the test pipeline (annotations not loaded)."""
    from mmcv.transforms import Compose
    pipeline = [
        step for step in cfg.test_dataloader.dataset.pipeline
        if step['type'].split('.')[-1] != 'LoadAnnotations'
    ]
    data = Compose(pipeline)(dict(img_path=image, img_id=0))
    return dict(inputs=[data['inputs']], data_samples=[data['data_samples']])


@torch.no_grad()
def level_activations(model, batch: dict, size: int = 128) -> List[dict]:
    """Soft masks and category scores of every cell, per level.

    Args:
        model (SOLO): The detector, in eval mode.
        batch (dict): One image, as :func:`load_batch` returns it.
        size (int): The masks are computed at this size (the longer side of
            the padded input), enough for zoomed-out tiles.

    Returns:
        list[dict]: Per level: ``masks`` (S, S, h, w) soft masks over the
        image area (padding cropped) and ``scores`` (S, S) the highest
        category score of each cell after point NMS.
    """
    data = model.data_preprocessor(batch, False)
    head = model.mask_head
    mlvl_mask_outs, mlvl_cls_preds = head(model.extract_feat(data['inputs']))
    meta = data['data_samples'][0].metainfo
    pad_h, pad_w = meta['batch_input_shape']
    img_h, img_w = meta['img_shape']
    scale = size / max(pad_h, pad_w)
    out_size = (max(round(pad_h * scale), 1), max(round(pad_w * scale), 1))
    prepared = head.prepare_predict(mlvl_mask_outs, 0, out_size)
    scores = head.flat_cls_scores(mlvl_cls_preds)[0].max(1).values
    crop_h = max(round(img_h * scale), 1)
    crop_w = max(round(img_w * scale), 1)
    levels, start = [], 0
    for num_grid in head.num_grids:
        cells = torch.arange(start, start + num_grid**2, device=scores.device)
        masks = head.cell_masks(prepared, cells, out_size)
        levels.append(
            dict(
                masks=masks[:, :crop_h, :crop_w].reshape(
                    num_grid, num_grid, crop_h, crop_w).float().cpu(),
                scores=scores[cells].reshape(num_grid,
                                             num_grid).float().cpu()))
        start += num_grid**2
    return levels


def mosaic(masks: torch.Tensor, scores: torch.Tensor, score_thr: float,
           tile: int) -> np.ndarray:
    """The S x S tiles of a level's soft masks as an RGB image.

    Args:
        masks (Tensor): (S, S, h, w) soft masks.
        scores (Tensor): (S, S) category scores.
        score_thr (float): Outline the tiles of cells scoring at least this.
        tile (int): Tile size in pixels (the masks are zoomed to fit).

    Returns:
        np.ndarray: (S * (tile + 1) + 1, same, 3) uint8, 1-pixel grey grid
        lines between the tiles.
    """
    rows, cols, h, w = masks.shape
    scale = tile / max(h, w)
    th, tw = max(round(h * scale), 1), max(round(w * scale), 1)
    out = np.full((rows * (tile + 1) + 1, cols * (tile + 1) + 1, 3),
                  96,
                  dtype=np.uint8)
    zoomed = torch.nn.functional.interpolate(
        masks.reshape(-1, 1, h, w), size=(th, tw), mode='area')
    zoomed = (zoomed.clamp(0, 1) * 255).byte().reshape(rows, cols, th, tw)
    for i in range(rows):
        for j in range(cols):
            y, x = 1 + i * (tile + 1), 1 + j * (tile + 1)
            colored = cv2.applyColorMap(zoomed[i, j].numpy(),
                                        cv2.COLORMAP_VIRIDIS)[..., ::-1]
            out[y:y + tile, x:x + tile] = 0
            out[y:y + th, x:x + tw] = colored
            if scores[i, j] >= score_thr:
                cv2.rectangle(out, (x - 1, y - 1), (x + tile, y + tile),
                              OUTLINE, 1 + tile // 16)
    return out


def draw_result(model, image: str, sample, score_thr: float) -> np.ndarray:
    """The final instances on the image (RGB), by mmdet's visualizer."""
    from mmdet.visualization import DetLocalVisualizer
    visualizer = DetLocalVisualizer(name=f'vis_mask_activations_{id(model)}')
    visualizer.dataset_meta = model.dataset_meta or {}
    img = mmcv.imread(image, channel_order='rgb')
    visualizer.add_datasample(
        'result',
        img,
        sample,
        draw_gt=False,
        pred_score_thr=score_thr,
        show=False)
    return visualizer.get_image()


def side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """``right`` scaled to ``left``'s height, 8 white pixels between."""
    height = left.shape[0]
    right = mmcv.imrescale(right, (1e9, height))
    gap = np.full((height, 8, 3), 255, np.uint8)
    right = right[:height]
    if right.shape[0] < height:
        right = np.pad(
            right, ((0, height - right.shape[0]), (0, 0), (0, 0)),
            constant_values=255)
    return np.concatenate([left, gap, right], 1)


def main(argv: Optional[Sequence[str]] = None) -> List[str]:
    args = parse_args(argv)
    from mmdet.apis import init_detector
    cfg = load_tool_config(args.config, args.cfg_options)
    model = init_detector(cfg, args.checkpoint, device=args.device)
    head = model.mask_head
    levels = range(len(head.num_grids)) if args.level is None else \
        [args.level]
    if not all(0 <= lvl < len(head.num_grids) for lvl in levels):
        raise ValueError(f'--level must be in [0, {len(head.num_grids)})')
    score_thr = args.score_thr if args.score_thr is not None else \
        head.test_cfg.get('score_thr', 0.1)
    batch = load_batch(cfg, args.image)
    activations = level_activations(model, batch, max(128, 2 * args.tile))
    with torch.no_grad():
        sample = model.test_step(batch)[0]
    result = draw_result(model, args.image, sample, args.show_score_thr)
    os.makedirs(args.out_dir, exist_ok=True)
    name = osp.splitext(osp.basename(args.image))[0]
    written = []
    for level in levels:
        act = activations[level]
        picture = side_by_side(
            mosaic(act['masks'], act['scores'], score_thr, args.tile), result)
        path = osp.join(args.out_dir, f'{name}_level{level}.png')
        mmcv.imwrite(picture[..., ::-1], path)
        num = int((act['scores'] >= score_thr).sum())
        print(f'level {level}: S={head.num_grids[level]}, {num} candidate '
              f'cell(s) >= {score_thr:g} -> {path}')
        written.append(path)
    return written


if __name__ == '__main__':
    main()
