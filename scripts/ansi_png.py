#!/usr/bin/env python3
"""Renders a `tmux capture-pane -e -p -N` text file (SGR colours kept) to a PNG.

Usage: ansi_png.py CAPTURE.txt OUT.png COLUMNS ROWS
Each cell is drawn on a fixed grid with DejaVu Sans Mono, so the picture is
what the terminal showed, cell for cell.
"""
import re
import sys
import unicodedata

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu/"
SIZE = 15
# xterm's default 16 colours
PALETTE = [
    (0, 0, 0), (205, 49, 49), (13, 188, 121), (229, 229, 16),
    (36, 114, 200), (188, 63, 188), (17, 168, 205), (229, 229, 229),
    (102, 102, 102), (241, 76, 76), (35, 209, 139), (245, 245, 67),
    (59, 142, 234), (214, 112, 214), (41, 184, 219), (255, 255, 255),
]
DEFAULT_FG = (204, 204, 204)
DEFAULT_BG = (24, 24, 24)


def colour256(n):
    if n < 16:
        return PALETTE[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[n // 6 % 6], steps[n % 6])
    v = 8 + (n - 232) * 10
    return (v, v, v)


class Pen:
    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = None
        self.bg = None
        self.bold = False
        self.reverse = False

    def apply(self, params):
        codes = [int(p) if p else 0 for p in params.split(";")] if params else [0]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                self.reset()
            elif c == 1:
                self.bold = True
            elif c == 22:
                self.bold = False
            elif c == 7:
                self.reverse = True
            elif c == 27:
                self.reverse = False
            elif 30 <= c <= 37:
                self.fg = PALETTE[c - 30]
            elif 90 <= c <= 97:
                self.fg = PALETTE[c - 90 + 8]
            elif c == 39:
                self.fg = None
            elif 40 <= c <= 47:
                self.bg = PALETTE[c - 40]
            elif 100 <= c <= 107:
                self.bg = PALETTE[c - 100 + 8]
            elif c == 49:
                self.bg = None
            elif c in (38, 48) and i + 1 < len(codes):
                if codes[i + 1] == 5 and i + 2 < len(codes):
                    col = colour256(codes[i + 2])
                    i += 2
                elif codes[i + 1] == 2 and i + 4 < len(codes):
                    col = tuple(codes[i + 2:i + 5])
                    i += 4
                else:
                    col = None
                if c == 38:
                    self.fg = col
                else:
                    self.bg = col
            i += 1

    def colours(self):
        fg = self.fg or DEFAULT_FG
        bg = self.bg or DEFAULT_BG
        if self.reverse:
            fg, bg = bg, fg
        return fg, bg


SGR = re.compile(r"\x1b\[([0-9;]*)m")


def cells(text, rows):
    pen = Pen()
    grid = []
    for line in text.split("\n")[:rows]:
        row = []
        pos = 0
        for m in SGR.finditer(line):
            for ch in line[pos:m.start()]:
                row.append((ch, *pen.colours(), pen.bold))
            pen.apply(m.group(1))
            pos = m.end()
        for ch in line[pos:]:
            row.append((ch, *pen.colours(), pen.bold))
        grid.append(row)
    return grid


def main():
    src, out, cols, rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    regular = ImageFont.truetype(FONT_DIR + "DejaVuSansMono.ttf", SIZE)
    bold = ImageFont.truetype(FONT_DIR + "DejaVuSansMono-Bold.ttf", SIZE)
    ascent, descent = regular.getmetrics()
    cw, ch = round(regular.getlength("M")), ascent + descent
    img = Image.new("RGB", (cols * cw + 16, rows * ch + 16), DEFAULT_BG)
    draw = ImageDraw.Draw(img)
    with open(src, encoding="utf-8", errors="replace") as f:
        grid = cells(f.read(), rows)
    for y, row in enumerate(grid):
        x = 0
        for char, fg, bg, is_bold in row:
            width = 2 if unicodedata.east_asian_width(char) in "WF" else 1
            px, py = 8 + x * cw, 8 + y * ch
            draw.rectangle([px, py, px + width * cw - 1, py + ch - 1], fill=bg)
            if char == "\u258f":  # left one-eighth block, drawn seamless
                draw.rectangle([px, py, px + max(1, cw // 8) - 1, py + ch - 1], fill=fg)
            elif char != " ":
                draw.text((px, py), char, font=bold if is_bold else regular, fill=fg)
            x += width
    img.save(out)


if __name__ == "__main__":
    main()
