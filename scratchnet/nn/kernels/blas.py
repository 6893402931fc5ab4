"""cblas_sgemm of the OpenBLAS that NumPy itself has loaded, called through ctypes.

It also sets the thread count of that library (``blas_threads``, for train.threads and
evaluate.threads). NumPy cannot ask a matrix product to add into its output or scale it, but
sgemm can: ``C <- alpha * op(A) @ op(B) + beta * C``. The fused SGD step
(sgd.py) uses that to update weights inside the weight-gradient product.
The function is looked up through NumPy's own extension module (dlopen with
RTLD_NOLOAD, then dlsym, which searches that module and the libraries it was
loaded with), so it is the very library, and thread pool, that ``np.matmul``
uses, never a second copy such as SciPy's. It is used only if NumPy says its
BLAS is OpenBLAS, the integer width is known from its build configuration
(``USE64BITINT``: NumPy 2's wheels are ILP64, ``scipy_cblas_sgemm64_``), and a
small product agrees with ``np.matmul``; otherwise ``find_sgemm`` returns None
with the reason, and the pure-NumPy step runs. Setting the environment variable
SCRATCHNET_SGD_PATH=numpy (read at the first lookup) forces that path.
"""

import contextlib
import ctypes
import importlib
import os
import warnings

import numpy as np

from ...base.constraints import Interval

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112  # CBLAS enum values
NAMES = ("scipy_cblas_sgemm64_", "cblas_sgemm64_", "scipy_cblas_sgemm", "cblas_sgemm")


class Sgemm:
    """``C <- alpha * op(A) @ op(B) + beta * C`` on C-contiguous float32 arrays, in place."""

    def __init__(self, function, name, ilp64):
        self.name, self.ilp64 = name, ilp64
        integer, pointer = (ctypes.c_int64 if ilp64 else ctypes.c_int), ctypes.c_void_p
        # cblas_sgemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc); enums are C ints.
        function.argtypes = (
            [ctypes.c_int] * 3
            + [integer] * 3
            + [ctypes.c_float, pointer, integer, pointer, integer, ctypes.c_float, pointer, integer]
        )
        function.restype = None
        self._function = function

    def __call__(self, A, B, C, *, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
        """C <- alpha * (A.T if trans_a else A) @ (B.T if trans_b else B) + beta * C; returns C."""
        self.plan(A, B, C, trans_a=trans_a, trans_b=trans_b)(alpha, beta)
        return C

    def plan(self, A, B, C, *, trans_a=False, trans_b=False):
        """``product(alpha, beta)``, the call above on these very arrays, checked once.

        Shapes and types are checked here, since a wrong one would make sgemm read or
        write outside the arrays; a training step repeats the same products on the same
        buffers, and a plan spares it the checks and addresses (~4 us a call).
        """
        (m, k), (k2, n) = (A.shape[::-1] if trans_a else A.shape), (B.shape[::-1] if trans_b else B.shape)
        if k != k2 or C.shape != (m, n):
            raise ValueError(f"sgemm: shapes {A.shape}, {B.shape} -> {C.shape} do not match")
        if not all(a.dtype == np.float32 and a.flags.c_contiguous for a in (A, B, C)):
            raise TypeError("sgemm: arrays must be C-contiguous float32")
        head = (ROW_MAJOR, TRANS if trans_a else NO_TRANS, TRANS if trans_b else NO_TRANS, m, n, k)
        operands = (0.0, A.ctypes.data, A.shape[1], B.ctypes.data, B.shape[1], 0.0, C.ctypes.data, n)
        return Plan(self._function, self._function.argtypes, head + operands, (A, B, C))

    def library(self):
        """The file the function lives in (dladdr), or '' where that cannot be asked."""

        class DlInfo(ctypes.Structure):
            _fields_ = [
                ("fname", ctypes.c_char_p),
                ("fbase", ctypes.c_void_p),
                ("sname", ctypes.c_char_p),
                ("saddr", ctypes.c_void_p),
            ]

        try:
            dladdr = ctypes.CDLL(None).dladdr
            info = DlInfo()
            if dladdr(ctypes.cast(self._function, ctypes.c_void_p), ctypes.byref(info)):
                return os.path.realpath(info.fname.decode())
        except (AttributeError, OSError):
            pass
        return ""

    def __str__(self):
        return f"sgemm ({self.name} in {os.path.basename(self.library()) or 'NumPy'})"


class Plan:
    """One sgemm call on fixed arrays: ``plan(alpha, beta)``; it keeps the arrays alive.

    Its arguments are ctypes objects made once (only alpha's and beta's values change), so a
    call converts nothing: a step makes about fifteen of these calls.
    """

    __slots__ = ("_alpha", "_arguments", "_beta", "_function", "arrays")

    def __init__(self, function, argtypes, values, arrays):
        arguments = [kind(value) for kind, value in zip(argtypes, values)]
        self._function, self._arguments, self.arrays = function, arguments, arrays
        self._alpha, self._beta = arguments[6], arguments[11]

    def __call__(self, alpha, beta):
        self._alpha.value, self._beta.value = alpha, beta
        self._function(*self._arguments)


def _numpy_openblas_config():
    """NumPy's BLAS build configuration string if that BLAS is OpenBLAS, else LookupError."""
    try:
        blas = np.show_config("dicts")["Build Dependencies"]["blas"]
    except Exception as e:  # older NumPy, or a build that does not describe itself
        raise LookupError(f"NumPy does not describe its BLAS ({e})") from None
    if "openblas" not in str(blas.get("name", "")).lower():
        raise LookupError(f"NumPy's BLAS is {blas.get('name')!r}, not OpenBLAS")
    return str(blas.get("openblas configuration", ""))


def _numpy_library():
    """NumPy's own extension module, already loaded, as a ctypes library (its symbols and those of the
    BLAS it was loaded with); LookupError if NumPy's BLAS is not OpenBLAS or the module cannot be opened."""
    _numpy_openblas_config()
    try:
        umath = importlib.import_module("numpy._core._multiarray_umath")  # NumPy >= 2
    except ImportError:
        umath = importlib.import_module("numpy.core._multiarray_umath")
    try:
        return ctypes.CDLL(umath.__file__, mode=os.RTLD_NOLOAD)
    except (AttributeError, OSError) as e:  # no RTLD_NOLOAD (Windows), or not a shared object
        raise LookupError(f"cannot open NumPy's own module ({e})") from None


def _lookup():
    """The Sgemm of NumPy's OpenBLAS; LookupError saying why not."""
    if os.environ.get("SCRATCHNET_SGD_PATH", "").lower() == "numpy":
        raise LookupError("SCRATCHNET_SGD_PATH=numpy")
    config = _numpy_openblas_config()
    numpy_module = _numpy_library()
    for name in NAMES:
        function = getattr(numpy_module, name, None)
        if function is not None:
            break
    else:
        raise LookupError(f"none of {', '.join(NAMES)} is reachable from NumPy")
    sgemm = Sgemm(function, name, ilp64="USE64BITINT" in config or name.endswith("64_"))
    rng = np.random.default_rng(0)
    A, B, C = (rng.random(shape, dtype=np.float32) for shape in ((37, 19), (37, 23), (19, 23)))
    expected = 0.75 * C - 0.5 * (A.T @ B)
    if not np.allclose(sgemm(A, B, C, alpha=-0.5, beta=0.75, trans_a=True), expected, rtol=1e-5, atol=1e-5):
        raise LookupError(f"{name} disagrees with np.matmul on a small product")
    return sgemm


_FOUND = None


def find_sgemm():
    """(Sgemm or None, a description of what runs): looked up once per process."""
    global _FOUND
    if _FOUND is None:
        try:
            sgemm = _lookup()
            _FOUND = sgemm, str(sgemm)
        except LookupError as e:
            _FOUND = None, f"pure NumPy ({e})"
    return _FOUND


# --- the thread count -------------------------------------------------------------------------

THREADS = Interval(int, 1, 256)  # train.threads, evaluate.threads
THREAD_FUNCTIONS = (
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
    ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
    ("openblas_get_num_threads", "openblas_set_num_threads"),
)


def _thread_functions():
    """(get, set) of NumPy's OpenBLAS thread count, or None where they cannot be reached."""
    try:
        library = _numpy_library()
    except LookupError:
        return None
    for get_name, set_name in THREAD_FUNCTIONS:
        get, set_ = getattr(library, get_name, None), getattr(library, set_name, None)
        if get is not None and set_ is not None:
            get.restype, get.argtypes, set_.restype, set_.argtypes = ctypes.c_int, [], None, [ctypes.c_int]
            return get, set_
    return None


@contextlib.contextmanager
def blas_threads(n):
    """Run the block with NumPy's own OpenBLAS computing on ``n`` threads (its thread count is
    what changes the last bits of float32 sums, so a run fixes it). Where NumPy's BLAS is not
    OpenBLAS, a warning says the setting has no effect, and the block runs as it is."""
    functions = _thread_functions()
    if functions is None:
        warnings.warn(
            f"the BLAS thread count ({n}) cannot be set: NumPy's BLAS is not an OpenBLAS "
            "scratchnet can reach; set its own environment variable (e.g. MKL_NUM_THREADS)",
            stacklevel=3,
        )
        yield
        return
    get, set_ = functions
    before = get()
    set_(n)
    try:
        yield
    finally:
        set_(before)
