# Copyright (c) mmsolo contributors. All rights reserved.
"""Generate the synthetic "shapes" instance segmentation set (COCO format).

Example::

    python tools/misc/make_shapes_dataset.py --out data/shapes \
        --num-train 500 --num-val 100 --seed 0 --img-size 256 256
"""
import argparse
import json

from mmsolo.datasets.shapes import (SHAPES_CLASSES, SUPPORTED_SHAPES,
                                    ensure_shapes_dataset, format_stats,
                                    make_shapes_dataset)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Generate the synthetic shapes dataset (COCO format)')
    parser.add_argument(
        '--out', default='data/shapes', help='output folder (data root)')
    parser.add_argument(
        '--num-train', type=int, default=500, help='number of train images')
    parser.add_argument(
        '--num-val', type=int, default=100, help='number of val images')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--img-size',
        type=int,
        nargs=2,
        default=[256, 256],
        metavar=('H', 'W'),
        help='image height and width')
    parser.add_argument(
        '--classes',
        nargs='+',
        default=list(SHAPES_CLASSES),
        choices=SUPPORTED_SHAPES,
        help='shape classes, in category-id order')
    parser.add_argument(
        '--min-objects',
        type=int,
        default=1,
        help='fewest objects in a non-empty image')
    parser.add_argument(
        '--max-objects', type=int, default=6, help='most objects per image')
    parser.add_argument(
        '--empty-ratio',
        type=float,
        default=0.1,
        help='fraction of images without objects')
    parser.add_argument(
        '--size-ranges',
        type=float,
        nargs='+',
        default=None,
        metavar='LO HI',
        help='object size ranges, sqrt(w*h) in pixels, as pairs '
        '"LO HI LO HI ..."; default: SOLO\'s FPN scale ranges scaled by '
        'min(img-size) / 800')
    parser.add_argument(
        '--num-workers',
        type=int,
        default=None,
        help='processes that draw the images (the set is the same for any '
        'number); default: the number of CPUs, at most 8')
    parser.add_argument(
        '--skip-if-exists',
        action='store_true',
        help='keep the set in --out if it was generated with the same '
        'arguments and is complete')
    parser.add_argument(
        '--json', action='store_true', help='print the summary as json')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    size_ranges = None
    if args.size_ranges is not None:
        if len(args.size_ranges) % 2:
            raise SystemExit('--size-ranges needs pairs of numbers')
        vals = args.size_ranges
        size_ranges = list(zip(vals[0::2], vals[1::2]))
    kwargs = dict(
        num_train=args.num_train,
        num_val=args.num_val,
        seed=args.seed,
        img_size=tuple(args.img_size),
        classes=tuple(args.classes),
        min_objects=args.min_objects,
        max_objects=args.max_objects,
        empty_ratio=args.empty_ratio,
        size_ranges=size_ranges)
    if args.skip_if_exists:
        result = ensure_shapes_dataset(
            args.out, num_workers=args.num_workers, **kwargs)
    else:
        result = make_shapes_dataset(
            args.out, num_workers=args.num_workers, **kwargs)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(format_stats(result))


if __name__ == '__main__':
    main()
