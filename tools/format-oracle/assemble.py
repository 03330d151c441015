"""Writes OUT/flows.json: the raw dump of capture.sh plus what the tests need to know."""
import json, os, sys

out = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
doc = {
    "about": "25 conntrack entries created with conntrack 1.4.7 (Debian 1:1.4.7-1+b2, libnetfilter_conntrack 1.0.9) on Linux 6.18 in a throw-away network namespace with nf_conntrack_acct=1, nf_conntrack_timestamp=1, an nft 'ct label set' rule (connlabel extension) and /etc/xtables/connlabel.conf = labelMap. 'flows' is a raw ctnetlink dump of the same table decoded independently of our codec (numbers as the kernel sent them, u64 values as decimal strings, labels as hex bytes), in kernel dump order = the order of every list-*.txt. All list-*.txt files and the dump were taken within the one wall-clock second 'capturedAt' (TZ=UTC), so timeouts (598) and delta-time (0) agree everywhere; ids and timestamps are those of this run. Made by tools/format-oracle/capture.sh.",
    "capturedAt": int(open(os.path.join(out, "now.txt")).read()),
    "tz": "UTC",
    "labelMap": {"0": "zero", "1": "one", "5": "five-5", "70": "seventy"},
    "commands": [line.rstrip("\n") for line in open(os.path.join(out, "commands.txt"))],
    "files": {
        "list.txt": "conntrack -L",
        "list-extended-id.txt": "conntrack -L -o extended,id",
        "list-xml.txt": "conntrack -L -o xml",
        "list-save.txt": "conntrack -L -o save",
        "list-ktimestamp-labels.txt": "conntrack -L -o ktimestamp,labels",
        "list-xml-ktimestamp-labels.txt": "conntrack -L -o xml,ktimestamp,labels",
    },
    "flows": json.load(open(os.path.join(out, "raw.json"))),
}
with open(os.path.join(out, "flows.json"), "w") as f:
    f.write(json.dumps(doc, indent=1) + "\n")
