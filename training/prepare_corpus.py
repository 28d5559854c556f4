#!/usr/bin/env python3
"""Builds the training corpus of MambaGen's default model from the .NET reference pack's XML docs.

Reads the IntelliSense XML files that ship beside the reference assemblies of the .NET SDK
(Microsoft.NETCore.App.Ref, MIT-licensed binaries; the text comes from dotnet/dotnet-api-docs, see
training/DATA.md), keeps the prose of <summary>, <remarks>, <param>, <typeparam>, <returns>, <value>
and <exception>, turns cross references into plain names, drops duplicates and writes plain text:
one document per API member, documents separated by a blank line.

Python 3.11, standard library only.

    python3 training/prepare_corpus.py [--pack DIR] [--out training/corpus/corpus.txt]
"""
import argparse
import glob
import hashlib
import os
import re
import sys
import xml.etree.ElementTree as ET

DEFAULT_PACK_GLOB = "/usr/share/dotnet/packs/Microsoft.NETCore.App.Ref/*/ref/net10.0"
PROSE_TAGS = ("summary", "remarks", "typeparam", "param", "returns", "value", "exception")


def short_name(cref: str) -> str:
    """'M:System.String.Join(System.String[])' -> 'String.Join'; 'T:System.Collections.Generic.List`1' -> 'List<T>'."""
    kind, _, name = cref.partition(":") if ":" in cref[:2] else ("T", "", cref)
    parts = name.split("(", 1)[0].split(".")
    last = parts[-1]
    if kind == "T" or len(parts) < 2:
        text = last
    elif last in ("#ctor", "#cctor"):
        text = parts[-2]
    else:
        # Members read better with their type: 'String.Length' rather than 'Length'.
        text = parts[-2] + "." + last
    text = re.sub(r"``?\d+", "<T>", text)
    return text.replace("{", "<").replace("}", ">")


def render(el) -> str:
    """Plain text of one doc element; inline tags become words, block tags become spaces."""
    out = []
    if el.text:
        out.append(el.text)
    for child in el:
        tag = child.tag
        if tag == "see" or tag == "seealso":
            if child.get("langword"):
                out.append(child.get("langword"))
            elif child.get("cref"):
                inner = render(child).strip()
                out.append(inner if inner else short_name(child.get("cref")))
            elif child.get("href"):
                inner = render(child).strip()
                out.append(inner if inner else child.get("href"))
            else:
                out.append(render(child))
        elif tag in ("paramref", "typeparamref"):
            out.append(child.get("name", ""))
        elif tag in ("c", "b", "i", "em", "strong", "term", "description", "a", "span"):
            out.append(render(child))
        elif tag == "code":
            out.append(" ")  # code samples are not prose
        elif tag in ("para", "item", "list", "listheader", "br", "note"):
            out.append(" " + render(child) + " ")
        else:
            out.append(render(child))
        if child.tail:
            out.append(child.tail)
    return "".join(out)


def clean(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    # A cross reference rendered before punctuation leaves "String ." behind; ".NET" must stay.
    text = re.sub(r" ([.,;:])(?=\s|$)", r"\1", text)
    return text


# Instruction encodings of the hardware intrinsics ("svint32_t svabdlb_s32 SABDLB Zresult.S", "__m128i _mm_add_epi8")
# are not English; a line with one of these marks is dropped.
INTRINSIC_MARKS = re.compile(r"\b(sv[a-z0-9]+_[a-z0-9_]+|_mm\w*|__m\d+\w*|float\d+x\d+_t|u?int\d+x\d+_t|A64:|A32:|x86:|x64:|"
                             r"[VZP]\w*\.[BHSDQ]\b|vld\w+|vst\w+)")


def is_prose(text: str) -> bool:
    # Keep sentences; drop placeholders ("To be added."), tables, link-only remarks and instruction encodings.
    if len(text) < 12 or text.startswith("To be added"):
        return False
    if text.count("|") > 2 or text.startswith("For more information about this API, see"):
        return False
    if INTRINSIC_MARKS.search(text):
        return False
    words = text.split()
    if len(words) < 3:
        return False
    plain = sum(1 for w in words if re.fullmatch(r"[A-Za-z][a-z'-]*[.,;:)]?|\(?[a-z]+", w))
    return plain >= 0.5 * len(words)


def member_document(member) -> list[str]:
    lines = []
    for el in member:
        if el.tag not in PROSE_TAGS:
            continue
        text = clean(render(el))
        if el.tag == "exception" and el.get("cref"):
            text = short_name(el.get("cref")) + ": " + text if text else ""
        if text and is_prose(text):
            lines.append(text)
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pack", default=None, help="folder with the *.xml doc files (default: newest " + DEFAULT_PACK_GLOB + ")")
    ap.add_argument("--out", default="training/corpus/corpus.txt")
    args = ap.parse_args()

    pack = args.pack
    if pack is None:
        found = sorted(glob.glob(DEFAULT_PACK_GLOB))
        if not found:
            print("no reference pack found at " + DEFAULT_PACK_GLOB, file=sys.stderr)
            return 1
        pack = found[-1]
    files = sorted(glob.glob(os.path.join(pack, "*.xml")))
    if not files:
        print("no *.xml doc files in " + pack, file=sys.stderr)
        return 1

    seen_lines = set()
    seen_docs = set()
    docs = 0
    n_chars = 0
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8", newline="\n") as out:
        for path in files:
            try:
                root = ET.parse(path).getroot()
            except ET.ParseError as e:
                print(f"skipping {path}: {e}", file=sys.stderr)
                continue
            for member in root.iter("member"):
                lines = []
                for line in member_document(member):
                    # The same sentence recurs across overloads; keep its first use only.
                    if line in seen_lines:
                        continue
                    seen_lines.add(line)
                    lines.append(line)
                if not lines:
                    continue
                doc = "\n".join(lines)
                h = hashlib.sha1(doc.encode()).digest()
                if h in seen_docs:
                    continue
                seen_docs.add(h)
                out.write(doc + "\n\n")
                docs += 1
                n_chars += len(doc) + 2
    print(f"pack: {pack}")
    print(f"files: {len(files)}, documents: {docs}, unique lines: {len(seen_lines)}, characters: {n_chars}")
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
