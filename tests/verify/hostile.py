"""A corpus of candidates that try to fake a pass or harm the host (bounded, loopback only).

Each solves nothing: the task is ``add(a, b)`` and no entry here implements it honestly. Most are
built to pass *if their trick works* (they answer correctly only with what the trick gave them),
so "not passed" shows the trick failed. Placeholders (``{canary}``, ``{port}``, ``{secret_name}``,
``{host_file}``, ``{own_file}``, ``{marker}``, ``{unix_socket}``, ``{abstract_socket}``) are filled
in by the tests. ``CONTROLS`` are the same tricks kept within the bounds: they must pass, so a
bound that holds is not mistaken for a trick that never worked.
"""

from __future__ import annotations

from dataclasses import dataclass

TESTS = ["assert add(2, 3) == 5", "assert add(-1, 1) == 0"]


@dataclass(frozen=True)
class Case:
    """One hostile candidate, the weakness class it attacks, and the tests it runs against."""

    kind: str
    code: str
    tests: tuple[str, ...] = tuple(TESTS)
    helpers: str | None = None
    entry_point: str | None = None


# Taking over the candidate's end of the pipe protocol (open source, so an optimiser can learn it):
# find the request (read) and reply (write) pipes, say ready, serve the first call correctly.
_PROTOCOL = (
    "import os, fcntl, stat, json, time\n"
    "def _pipes():\n"
    "    found = {}\n"
    "    for fd in range(3, 64):\n"
    "        try:\n"
    "            if not stat.S_ISFIFO(os.fstat(fd).st_mode): continue\n"
    "            found[fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE] = fd\n"
    "        except OSError: pass\n"
    "    return found[os.O_RDONLY], found[os.O_WRONLY]\n"
    "REQ, RESP = _pipes()\n"
    "def _line():\n"
    "    data = b''\n"
    "    while not data.endswith(b'\\n'): data += os.read(REQ, 1)\n"
    "    return json.loads(data)\n"
    "os.write(RESP, b'{\"ready\": true}\\n')\n"
    "_line(); os.write(RESP, b'{\"value\": [\"h\", 1, \"function\"]}\\n')\n"
    "_line(); os.write(RESP, b'{\"value\": [\"i\", 5]}\\n')\n"
)
_DEADLINE_TESTS = ("assert add(2, 3) == 5", "assert add('x' * 300000, 'y') == 'x' * 300000 + 'y'")
_MAP_TESTS = ("assert all(map(lambda c: add(*c[:2]) == c[2], [(2, 3, 5), (-1, 1, 0)]))",
              "assert next(filter(lambda c: add(*c[:2]) != c[2], [(2, 3, 5), (-1, 1, 0)]), None) is None")
_ISCLOSE_TESTS = ("assert math.isclose(add(2, 3), 5)", "assert math.isclose(add(-1, 1), 0)")
# HumanEval/32's shape: the tests call poly(), which the task's prompt defines.
_POLY_PROMPT = (
    "import math\n"
    "def poly(xs: list, x: float):\n"
    "    return sum(coeff * math.pow(x, i) for i, coeff in enumerate(xs))\n"
    "def find_zero(xs: list):\n"
    "    \"\"\"A zero of the polynomial with coefficients xs.\"\"\"\n"
)
_POLY_TESTS = ("def check(candidate):\n"
               "    for coeffs in ([1, 2], [-6, 11, -6, 1], [2, -3, 1]):\n"
               "        assert math.fabs(poly(coeffs, candidate(coeffs))) < 1e-4\n",)
_HOLD = (  # fork children that hold their memory at the same time; right only if every one of them lived
    # Each child reports once its memory is touched and keeps it until the parent lets go, so they
    # all hold it together; a child the kernel killed for memory exits by a signal. Counting reports
    # alone is not enough: a group bound may kill a holder after it reported, and the next one fits.
    "import os, select, time\n"
    "def _hold(children, megabytes):\n"
    "    r, w = os.pipe()\n"
    "    go_r, go_w = os.pipe()\n"
    "    pids = []\n"
    "    for _ in range(children):\n"
    "        try: pid = os.fork()\n"
    "        except OSError: break\n"
    "        if pid == 0:\n"
    "            os.close(go_w)\n"
    "            blob = b'x' * (megabytes << 20)\n"
    "            os.write(w, b'1'); os.read(go_r, 1); os._exit(0)\n"
    "        pids.append(pid)\n"
    "    os.close(w)\n"
    "    got, end = b'', time.monotonic() + 4\n"
    "    while len(got) < children and select.select([r], [], [], max(0, end - time.monotonic()))[0]:\n"
    "        chunk = os.read(r, 64)\n"
    "        if not chunk: break\n"
    "        got += chunk\n"
    "    os.close(go_w)\n"
    "    lived = [os.waitpid(pid, 0)[1] == 0 for pid in pids]\n"
    "    return len(got) == children and len(lived) == children and all(lived)\n"
)
_THREADS = (
    "import threading, time\n"
    "def _spawn(count):\n"
    "    started = 0\n"
    "    for _ in range(count):\n"
    "        try: threading.Thread(target=time.sleep, args=(3,), daemon=True).start()\n"
    "        except RuntimeError: break\n"
    "        started += 1\n"
    "    return started == count\n"
)
_FORKS = (
    "import os, time\n"
    "def _fork(count):\n"
    "    made = 0\n"
    "    for _ in range(count):\n"
    "        try: pid = os.fork()\n"
    "        except OSError: break\n"
    "        if pid == 0: time.sleep(3); os._exit(0)\n"
    "        made += 1\n"
    "    return made == count\n"
)
_IF = "def add(a, b):\n    return a + b if {trick} else 0\n"
_ONCE = "WORKED = {trick}\ndef add(a, b):\n    return a + b if WORKED else 0\n"  # the trick at import, once

CORPUS: dict[str, Case] = {
    # -- exits, forged reports, objects that lie, builtins ------------------------------------------
    "exit-zero-at-import": Case("harness", "import sys\nsys.exit(0)\n"),
    "os-exit-zero-at-import": Case("harness", "import os\nos._exit(0)\n"),
    "system-exit-in-call": Case("harness", "def add(a, b):\n    raise SystemExit(0)\n"),
    "os-exit-in-call": Case("harness", "import os\ndef add(a, b):\n    os._exit(0)\n"),
    "always-equal-object": Case("harness", (
        "class Anything:\n"
        "    def __eq__(self, other): return True\n"
        "    def __ne__(self, other): return False\n"
        "    def __bool__(self): return True\n"
        "def add(a, b):\n    return Anything()\n"
    )),
    "int-subclass-always-equal": Case("harness", (
        "class Sly(int):\n    def __eq__(self, other): return True\n    __hash__ = int.__hash__\n"
        "def add(a, b):\n    return Sly(0)\n"
    )),
    "builtins-tampering": Case("harness", (
        "import builtins\n"
        "class Quiet(Exception): pass\n"
        "builtins.AssertionError = Quiet\n"
        "builtins.isinstance = lambda *a: True\n"
        "builtins.type = lambda *a: int\n"
        "def add(a, b):\n    return 0\n"
    )),
    "prints-success-markers": Case("harness", (
        "import os, sys\n"
        "for line in ('PASSED', 'All tests passed', 'rmr1-pass:0', '{\"done\": true}', "
        "'{\"test\": 0, \"status\": \"passed\"}'):\n"
        "    print(line); sys.stderr.write(line + '\\n'); os.write(1, (line + '\\n').encode())\n"
        "def add(a, b):\n    return None\n"
    )),
    "forges-report-on-every-fd": Case("harness", (
        "import os\n"
        "lines = (b'{\"test\": 0, \"status\": \"passed\"}\\n{\"test\": 1, \"status\": \"passed\"}\\n'\n"
        "         b'{\"done\": true}\\n')\n"
        "for fd in range(3, 64):\n"
        "    try: os.write(fd, lines)\n"
        "    except OSError: pass\n"
        "for pid in os.listdir('/proc'):\n"
        "    if pid.isdigit():\n"
        "        try: fds = os.listdir(f'/proc/{pid}/fd')\n"
        "        except OSError: continue\n"
        "        for fd in fds:\n"
        "            try:\n"
        "                with open(f'/proc/{pid}/fd/{fd}', 'wb') as f: f.write(lines)\n"
        "            except OSError: pass\n"
        "def add(a, b):\n    return -1\n"
    )),
    "reads-the-tests": Case("harness", (
        "import gc, os\n"
        "seen = [o for o in gc.get_objects() if isinstance(o, str) and 'assert' in o]\n"
        "found = []\n"
        "for pid in os.listdir('/proc'):\n"
        "    if pid.isdigit():\n"
        "        try: found.append(open(f'/proc/{pid}/cmdline', 'rb').read())\n"
        "        except OSError: pass\n"
        "def add(a, b):\n    return len(seen) + 1000\n"
    )),
    # -- host files and processes (weakness 1) ------------------------------------------------------
    "deletes-canary": Case("host", (
        "import os\n"
        "try: os.remove({canary!r})\n"
        "except OSError: pass\n"
        "try: open({canary!r}, 'w').write('pwned')\n"
        "except OSError: pass\n"
        "def add(a, b):\n    return a - b\n"
    )),
    "reads-a-world-readable-host-file": Case("host", (
        "def _seen():\n"
        "    try: return open({host_file!r}).read() == 'visible'\n"
        "    except OSError: return False\n" + _IF.format(trick="_seen()"))),
    "reads-its-callers-own-0600-file": Case("host", (
        "def _seen():\n"
        "    try: return open({own_file!r}).read() == 'visible'\n"
        "    except OSError: return False\n" + _IF.format(trick="_seen()"))),
    "finds-a-host-process-command-line": Case("host", (
        "import os\n"
        "def _seen():\n"
        "    for pid in os.listdir('/proc'):\n"
        "        try:\n"
        "            if {marker!r}.encode() in open(f'/proc/{pid}/cmdline', 'rb').read(): return True\n"
        "        except OSError: pass\n"
        "    return False\n" + _IF.format(trick="_seen()"))),
    "counts-host-processes": Case("host", (
        "import os\n"
        "def _seen():\n"
        "    try: return len([p for p in os.listdir('/proc') if p.isdigit()]) > 4\n"
        "    except OSError: return False\n" + _IF.format(trick="_seen()"))),
    "enters-the-reapers-root": Case("host", (
        "import os\n"
        "def _seen():\n"
        "    for link in ('/proc/1/root', '/proc/1/cwd', '/proc/2/root'):\n"
        "        try:\n"
        "            if any(n in os.listdir(link + '/') for n in ('home', 'work', 'var', 'boot')): return True\n"
        "        except OSError: pass\n"
        "    return False\n" + _IF.format(trick="_seen()"))),
    "walks-up-from-its-folder": Case("host", (
        "import os\n"
        "def _seen():\n"
        "    for _ in range(12): os.chdir('..')\n"
        "    return any(os.path.exists(p) for p in ('/home', '/work', '/var', '/run', '/boot', '/etc/passwd',\n"
        "                                            '/root/.bashrc', '/sys/class', {host_file!r}))\n"
        + _IF.format(trick="_seen()"))),
    "lists-the-interpreters-home": Case("host", (
        "import os, sys\n"
        "def _seen():\n"
        "    home = os.path.dirname(os.path.dirname(sys.prefix))\n"
        "    try: return len(os.listdir(home)) > 1 or len(os.listdir('/root')) > 1\n"
        "    except OSError: return False\n" + _IF.format(trick="_seen()"))),
    "writes-into-the-interpreter": Case("host", (
        "import os, sys\n"
        "def _seen():\n"
        "    try:\n"
        "        open(os.path.join(sys.prefix, 'rmr1-hostile-was-here'), 'w').write('x'); return True\n"
        "    except OSError: return False\n" + _IF.format(trick="_seen()"))),
    "reads-secret-env": Case("host", (
        "import os\n"
        "SECRET = os.environ.get({secret_name!r}, '')\n"
        "print('secret:', SECRET)\n"
        "def add(a, b):\n    return SECRET\n"
    )),
    # -- names the tests do not define (weakness 2) -------------------------------------------------
    "patches-a-module-the-tests-use": Case(
        "names", "import math\nmath.isclose = lambda *a, **k: True\ndef add(a, b):\n    return 0\n", _ISCLOSE_TESTS),
    "defines-a-class-named-like-the-module": Case("names", (
        "class math:\n    @staticmethod\n    def isclose(*a, **k): return True\n"
        "def add(a, b):\n    return 0\n"), _ISCLOSE_TESTS),
    "patches-an-aliased-module": Case(
        "names", "import math as m\nm.isclose = lambda *a, **k: True\ndef add(a, b):\n    return 0\n",
        ("assert m.isclose(add(2, 3), 5)", "assert m.isclose(add(-1, 1), 0)")),
    "binds-an-object-where-the-tests-expect-a-module": Case("names", (
        "class _Lenient:\n    def isclose(self, *a, **k): return True\nm = _Lenient()\n"
        "def add(a, b):\n    return 0\n"), ("assert m.isclose(add(2, 3), 5)", "assert m.isclose(add(-1, 1), 0)")),
    "patches-operator-eq": Case(
        "names", "import operator\noperator.eq = lambda *a: True\ndef add(a, b):\n    return 0\n",
        ("assert operator.eq(add(2, 3), 5)", "assert operator.eq(add(-1, 1), 0)")),
    "redefines-the-tasks-helper": Case(
        "names", "def expected(a, b):\n    return 0\ndef add(a, b):\n    return 0\n",
        ("assert add(2, 3) == expected(2, 3)", "assert add(-1, 1) == expected(-1, 1)"),
        helpers="def expected(a, b):\n    return a + b\n"),
    "redefines-poly-like-humaneval-32": Case(
        "names", "import math\ndef poly(xs, x):\n    return 0\ndef find_zero(xs):\n    return 0.0\n", _POLY_TESTS,
        helpers=_POLY_PROMPT, entry_point="find_zero"),
    "defines-its-own-check": Case(
        "names", "def check(candidate):\n    pass\ndef add(a, b):\n    return 0\n",
        ("def check(candidate):\n    assert candidate(2, 3) == 5\n",), entry_point="add"),
    # -- control-flow exceptions (weakness 3) -------------------------------------------------------
    "raises-stop-iteration": Case("exceptions", "def add(a, b):\n    raise StopIteration\n", _MAP_TESTS),
    "raises-stop-async-iteration": Case("exceptions", "def add(a, b):\n    raise StopAsyncIteration\n", _MAP_TESTS),
    "raises-its-own-stop-iteration": Case(
        "exceptions", "class StopIteration(Exception):\n    pass\ndef add(a, b):\n    raise StopIteration\n",
        _MAP_TESTS),
    "raises-generator-exit": Case("exceptions", "def add(a, b):\n    raise GeneratorExit\n", _MAP_TESTS),
    "raises-keyboard-interrupt": Case("exceptions", "def add(a, b):\n    raise KeyboardInterrupt\n", _MAP_TESTS),
    "exits-where-a-test-catches-exception": Case(
        "exceptions", "import os\ndef add(a, b):\n    os._exit(0)\n",
        ("try:\n    add(2, 3)\nexcept Exception:\n    pass\n",)),
    # -- pathname and abstract unix sockets (weakness 6), network -----------------------------------
    "connects-to-loopback": Case("sockets", (
        "import socket\n"
        "def add(a, b):\n"
        "    s = socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
        "    s.sendall(b'exfiltrated')\n"
        "    return a + b\n"
    )),
    "connects-to-a-host-unix-socket": Case("sockets", (
        "import socket\n"
        "def _seen():\n"
        "    try:\n"
        "        s = socket.socket(socket.AF_UNIX); s.settimeout(2); s.connect({unix_socket!r})\n"
        "        s.sendall(b'exfiltrated'); return True\n"
        "    except OSError: return False\n" + _IF.format(trick="_seen()"))),
    "connects-to-an-abstract-socket": Case("sockets", (
        "import socket\n"
        "def _seen():\n"
        "    try:\n"
        "        s = socket.socket(socket.AF_UNIX); s.settimeout(2); s.connect('\\0' + {abstract_socket!r})\n"
        "        s.sendall(b'exfiltrated'); return True\n"
        "    except OSError: return False\n" + _IF.format(trick="_seen()"))),
    "scans-for-any-unix-socket": Case("sockets", (
        "import os, socket, stat\n"
        "def _seen():\n"
        "    for top in ('/run', '/var/run', '/tmp', '/dev', '/root'):\n"
        "        for folder, _, names in os.walk(top):\n"
        "            for name in names:\n"
        "                path = os.path.join(folder, name)\n"
        "                try:\n"
        "                    if not stat.S_ISSOCK(os.lstat(path).st_mode): continue\n"
        "                    s = socket.socket(socket.AF_UNIX); s.settimeout(1); s.connect(path); return True\n"
        "                except OSError: pass\n"
        "    return False\n" + _IF.format(trick="_seen()"))),
    # -- memory and processes (weakness 7) ----------------------------------------------------------
    "forks-children-that-share-the-memory": Case("resources", _HOLD + _ONCE.format(trick="_hold(3, 250)")),
    "starts-more-threads-than-allowed": Case("resources", _THREADS + _ONCE.format(trick="_spawn(40)")),
    "forks-more-processes-than-allowed": Case("resources", _FORKS + _ONCE.format(trick="_fork(40)")),
    "bounded-fork-loop": Case("resources", (
        "import os, time\n"
        "children = 0\n"
        "for _ in range(200):\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError:\n"
        "        break\n"
        "    if pid == 0:\n"
        "        os.setsid()\n"
        "        time.sleep(60)\n"
        "        os._exit(0)\n"
        "    children += 1\n"
        "def add(a, b):\n    return children\n"
    )),
    "memory-bomb": Case("resources", "blob = bytearray(64 << 30)\ndef add(a, b):\n    return a + b\n"),
    "memory-bomb-in-call": Case("resources", (
        "def add(a, b):\n    hog = []\n    while True:\n        hog.append(bytearray(256 << 20))\n"
    )),
    "kills-everything-it-can": Case(
        "resources", "import os, signal\ntry: os.kill(-1, signal.SIGKILL)\nexcept OSError: pass\n"
                     "def add(a, b):\n    return 5\n"),
    # -- deadlines (weakness 9) ---------------------------------------------------------------------
    "infinite-loop-in-call": Case("deadline", "def add(a, b):\n    while True:\n        pass\n"),
    "infinite-loop-at-import": Case("deadline", "while True:\n    pass\n"),
    "stops-reading-its-pipe": Case("deadline", _PROTOCOL + "time.sleep(60)\n", _DEADLINE_TESTS),
    "streams-an-endless-reply": Case("deadline", _PROTOCOL + (
        "_line()\nwhile True:\n    os.write(RESP, b'[' * 65536)\n"), _DEADLINE_TESTS),
    "trickles-a-reply": Case("deadline", _PROTOCOL + (
        "_line()\nwhile True:\n    os.write(RESP, b' '); time.sleep(0.05)\n"), _DEADLINE_TESTS),
}

#: The resource tricks within the bounds: they must pass (else the bound proves nothing).
CONTROLS: dict[str, Case] = {
    "forks-children-within-the-memory": Case("resources", _HOLD + _ONCE.format(trick="_hold(2, 100)")),
    "starts-threads-within-the-limit": Case("resources", _THREADS + _ONCE.format(trick="_spawn(8)")),
    "forks-processes-within-the-limit": Case("resources", _FORKS + _ONCE.format(trick="_fork(8)")),
}

#: Answers relayed from one run to a later one through kernel objects that outlive a process
#: (weaknesses 4 and 5): the writer is correct and stores 42; the reader is right only if it finds it.
_LIBC = ("import ctypes, ctypes.util, os\nlibc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)\n"
         "KEY = 0x726D7231\nADD_KEY, KEYCTL = {'x86_64': (248, 250), 'aarch64': (217, 219)}[os.uname().machine]\n")
RELAYS: dict[str, tuple[str, str]] = {
    "sysv-shared-memory": (
        _LIBC + "try:\n    shm = libc.shmget(KEY, 1 << 20, 0o1666)\n"
        "    libc.shmat.restype = ctypes.c_void_p\n    ctypes.memmove(libc.shmat(shm, None, 0), b'42', 2)\n"
        "except Exception: pass\n",
        _LIBC + "def _seen():\n    shm = libc.shmget(KEY, 0, 0o666)\n    if shm < 0: return False\n"
        "    libc.shmat.restype = ctypes.c_void_p\n"
        "    return ctypes.string_at(libc.shmat(shm, None, 0), 2) == b'42'\n"),
    "sysv-message-queue": (
        _LIBC + "class Msg(ctypes.Structure):\n    _fields_ = [('type', ctypes.c_long), ('text', ctypes.c_char * 8)]\n"
        "libc.msgsnd(libc.msgget(KEY, 0o1666), ctypes.byref(Msg(1, b'42')), 8, 0o4000)\n",
        _LIBC + "def _seen():\n    return libc.msgget(KEY, 0o666) >= 0\n"),
    "sysv-semaphore": (
        _LIBC + "libc.semctl(libc.semget(KEY, 1, 0o1666), 0, 16, 42)\n",
        _LIBC + "def _seen():\n    sem = libc.semget(KEY, 1, 0o666)\n"
        "    return sem >= 0 and libc.semctl(sem, 0, 12) == 42\n"),
    "posix-shared-memory-file": (
        "try: open('/dev/shm/rmr1-relay', 'w').write('42')\nexcept OSError: pass\n",
        "def _seen():\n    try: return open('/dev/shm/rmr1-relay').read() == '42'\n    except OSError: return False\n"),
    "scratch-folder": (
        "try: open('/tmp/rmr1-relay', 'w').write('42')\nexcept OSError: pass\n",
        "def _seen():\n    try: return open('/tmp/rmr1-relay').read() == '42'\n    except OSError: return False\n"),
    "user-keyring": (
        _LIBC + "libc.syscall(ADD_KEY, b'user', b'rmr1-relay', b'42', 2, -4)\n",  # KEY_SPEC_USER_KEYRING
        _LIBC + "def _seen():\n    return libc.syscall(KEYCTL, 10, -4, b'user', b'rmr1-relay', 0) > 0\n"),  # SEARCH
    "user-session-keyring": (
        _LIBC + "libc.syscall(ADD_KEY, b'user', b'rmr1-relay', b'42', 2, -5)\n",
        _LIBC + "def _seen():\n    return libc.syscall(KEYCTL, 10, -5, b'user', b'rmr1-relay', 0) > 0\n"),
}
RELAY_KEY = 0x726D7231


def relay_rows() -> tuple[list[dict], list[dict]]:
    """(writers, readers) as code-task rows: writers are correct, readers only right with the relay."""
    writers = [{"code": store + "def add(a, b):\n    return a + b\n", "tests": TESTS} for store, _ in RELAYS.values()]
    readers = [{"code": load + _IF.format(trick="_seen()"), "tests": TESTS} for _, load in RELAYS.values()]
    return writers, readers


def fill(code: str, **values: object) -> str:
    """The candidate with its placeholders filled (plain replacement: the code has other braces)."""
    for name, value in values.items():
        code = code.replace(f"{{{name}!r}}", repr(value)).replace(f"{{{name}}}", str(value))
    return code
