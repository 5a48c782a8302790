"""docs/benchmarks.md is written by hand except between marker pairs, which the benches own:
``<!-- KEY:begin -->`` ... ``<!-- KEY:end -->``. A bench replaces only its own block, so prose
edits around the tables are never lost."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(ROOT, "docs", "benchmarks.md")


def replace_block(key, text, path=DOC, missing=None):
    """Puts `text` between the `key` markers of `path`. Without them: `missing(doc, block)` gives
    the new document, or the bench stops naming the markers it needs."""
    begin, end = "<!-- %s:begin -->" % key, "<!-- %s:end -->" % key
    with open(path) as f:
        doc = f.read()
    block = "%s\n%s\n%s" % (begin, text.strip("\n"), end)
    if begin in doc and end in doc:
        doc = doc[:doc.index(begin)] + block + doc[doc.index(end) + len(end):]
    elif missing is not None:
        doc = missing(doc, block)
    else:
        raise SystemExit("%s has no %s ... %s block to write the results into" % (path, begin, end))
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(doc)
    os.replace(tmp, path)
    return path
