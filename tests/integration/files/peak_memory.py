"""peak_memory.py LEAKGATE MEGABYTES: writes a report of about MEGABYTES MB
(tests with leaks of 8-frame tracebacks, every function name distinct, so
nothing is shared), runs `leakgate gate` over it with every output, and
prints the peak resident set size of that run as a multiple of the file's
size.  Exits 1 when it is above 4."""
import json
import os
import resource
import subprocess
import sys
import tempfile

lg, mb = sys.argv[1], int(sys.argv[2])
with tempfile.TemporaryDirectory() as work:
    report = os.path.join(work, "r.json")
    with open(report, "w") as out:
        out.write('{"schema": "leakgate/1", "tests": [\n')
        size, i = 0, 0
        while size < mb * 1000000:
            leaks = [{"size_diff": 64, "count_diff": 1, "size": 64, "count": 1, "domain": 1,
                      "traceback": [{"kind": "native", "function": "f_%d_%d_%d" % (i, k, j),
                                     "file": "src/m%d.c" % j, "line": 10 + j,
                                     "module": "/opt/lib%d.so" % k, "offset": 4096 + j}
                                    for j in range(8)]} for k in range(3)] if i % 2 else []
            test = {"id": "suite::test_%d" % i, "outcome": "leaked" if leaks else "clean",
                    "size_diff": 64 * len(leaks), "count_diff": len(leaks),
                    "limits": {"max_size": 0, "max_count": None}, "leaks": leaks}
            text = ("" if i == 0 else ",\n") + json.dumps(test)
            out.write(text)
            size += len(text)
            i += 1
        out.write("\n]}\n")
    base = os.path.join(work, "b.json")
    with open(base, "w") as f:
        f.write('{"schema": "leakgate-baseline/1", "leaks": []}\n')
    outs = ["--markdown", os.path.join(work, "o.md"), "--junit", os.path.join(work, "o.xml"),
            "--html", os.path.join(work, "o.html")]
    rc = subprocess.run([lg, "gate", "-q", "--baseline", base] + outs + [report]).returncode
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    ratio = peak / os.path.getsize(report)
    print("leakgate gate on a %.1f MB report: exit %d, peak RSS %.1f MB, %.2fx the file"
          % (os.path.getsize(report) / 1e6, rc, peak / 1e6, ratio))
    sys.exit(0 if rc == 1 and ratio <= 4 else 1)
