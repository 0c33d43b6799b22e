#!/usr/bin/env python3
"""Synthetic text-like images for calibrating and evaluating the PaddleOCR models (issue 5).

    make_text_images.py OUT_DIR --kind det|rec --count N [--seed S]

det: 640x640 scenes (paper, photo-like gradients and noise) with 3-12 lines of printed text in varied fonts, sizes,
colours and small rotations: the kind of page PaddleOCR's detector sees. rec: 48x320 crops holding one line of text,
as the recogniser sees them after detection. Images are written as PNG (every third as JPEG, quality 90) named
00000.png, 00001.jpg, ...; the same seed always writes the same images. Uses PIL and the DejaVu fonts when present
(PIL's built-in bitmap font otherwise).
"""
import argparse
import glob
import os
import random
import sys

from PIL import Image, ImageDraw, ImageFilter, ImageFont

WORDS = ("invoice total amount date number street road hone model quantize tensor batch latency paper receipt "
         "2026 11 24 Nov 3.14 42 100% $19.99 No. ID: A-1138 OCR text line page section chapter table figure "
         "price qty item customer address phone email www.example.com +49 30 1234567 kg km/h 9:41 PM").split()


def fonts():
    found = sorted(glob.glob("/usr/share/fonts/truetype/dejavu/*.ttf"))
    return found


def load_font(paths, size, rng):
    if paths:
        return ImageFont.truetype(rng.choice(paths), size)
    return ImageFont.load_default()


def background(rng, w, h):
    base = rng.randint(170, 255)
    tint = [max(0, min(255, base + rng.randint(-25, 10))) for _ in range(3)]
    img = Image.new("RGB", (w, h), tuple(tint))
    d = ImageDraw.Draw(img)
    # A few soft blocks (photos, stamps, table shading) and some lines (rules, table borders).
    for _ in range(rng.randint(0, 4)):
        x0, y0 = rng.randint(0, w - 1), rng.randint(0, h - 1)
        x1, y1 = min(w, x0 + rng.randint(20, w // 2)), min(h, y0 + rng.randint(10, h // 2))
        d.rectangle([x0, y0, x1, y1], fill=tuple(rng.randint(60, 255) for _ in range(3)))
    for _ in range(rng.randint(0, 5)):
        y = rng.randint(0, h - 1)
        d.line([0, y, w, y], fill=tuple(rng.randint(0, 160) for _ in range(3)), width=rng.randint(1, 2))
    return img


def text_line(rng, max_words):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, max_words)))


def det_image(rng, font_paths):
    w = h = 640
    img = background(rng, w, h)
    for _ in range(rng.randint(3, 12)):
        font = load_font(font_paths, rng.randint(14, 48), rng)
        line = Image.new("RGBA", (w, 80), (0, 0, 0, 0))
        ink = tuple(rng.randint(0, 90) for _ in range(3)) + (255,)
        ImageDraw.Draw(line).text((4, 4), text_line(rng, 8), font=font, fill=ink)
        line = line.rotate(rng.uniform(-8, 8), expand=True, resample=Image.BICUBIC)
        img.paste(line, (rng.randint(-40, w // 2), rng.randint(0, h - 40)), line)
    return img


def rec_image(rng, font_paths):
    w, h = 320, 48
    img = background(rng, w, h)
    font = load_font(font_paths, rng.randint(20, 34), rng)
    ink = tuple(rng.randint(0, 90) for _ in range(3))
    ImageDraw.Draw(img).text((rng.randint(0, 12), rng.randint(0, 8)), text_line(rng, 4), font=font, fill=ink)
    return img


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--kind", choices=["det", "rec"], required=True)
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.count <= 0:
        sys.exit("--count must be positive")
    os.makedirs(a.out_dir, exist_ok=True)
    rng = random.Random(a.seed)
    font_paths = fonts()
    make = det_image if a.kind == "det" else rec_image
    for i in range(a.count):
        img = make(rng, font_paths)
        if rng.random() < 0.3:
            img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
        if i % 3 == 2:
            img.save(os.path.join(a.out_dir, f"{i:05d}.jpg"), quality=90)
        else:
            img.save(os.path.join(a.out_dir, f"{i:05d}.png"))
    print(f"wrote {a.count} {a.kind} images to {a.out_dir}")


if __name__ == "__main__":
    main()
