"""cblas_sgemm of the OpenBLAS that NumPy itself has loaded, called through ctypes.

NumPy cannot ask a matrix product to add into its output or scale it, but
sgemm can: ``C <- alpha * op(A) @ op(B) + beta * C``. The fused SGD step
(fused.py) uses that to update weights inside the weight-gradient product.
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
import ctypes
import importlib
import os

import numpy as np

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112  # CBLAS enum values
NAMES = ("scipy_cblas_sgemm64_", "cblas_sgemm64_", "scipy_cblas_sgemm", "cblas_sgemm")


class Sgemm:
    """``C <- alpha * op(A) @ op(B) + beta * C`` on C-contiguous float32 arrays, in place."""

    def __init__(self, function, name, ilp64):
        self.name, self.ilp64 = name, ilp64
        integer, pointer = (ctypes.c_int64 if ilp64 else ctypes.c_int), ctypes.c_void_p
        # cblas_sgemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc); enums are C ints.
        function.argtypes = [ctypes.c_int] * 3 + [integer] * 3 + [ctypes.c_float, pointer, integer, pointer,
                                                                 integer, ctypes.c_float, pointer, integer]
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
        a, lda, b, ldb, c, ldc = A.ctypes.data, A.shape[1], B.ctypes.data, B.shape[1], C.ctypes.data, n
        function = self._function

        def product(alpha, beta):
            function(*head, alpha, a, lda, b, ldb, beta, c, ldc)
        product.arrays = (A, B, C)  # kept alive as long as the plan
        return product

    def library(self):
        """The file the function lives in (dladdr), or '' where that cannot be asked."""
        class DlInfo(ctypes.Structure):
            _fields_ = [("fname", ctypes.c_char_p), ("fbase", ctypes.c_void_p),
                        ("sname", ctypes.c_char_p), ("saddr", ctypes.c_void_p)]
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


def _numpy_openblas_config():
    """NumPy's BLAS build configuration string if that BLAS is OpenBLAS, else LookupError."""
    try:
        blas = np.show_config("dicts")["Build Dependencies"]["blas"]
    except Exception as e:  # older NumPy, or a build that does not describe itself
        raise LookupError(f"NumPy does not describe its BLAS ({e})") from None
    if "openblas" not in str(blas.get("name", "")).lower():
        raise LookupError(f"NumPy's BLAS is {blas.get('name')!r}, not OpenBLAS")
    return str(blas.get("openblas configuration", ""))


def _lookup():
    """The Sgemm of NumPy's OpenBLAS; LookupError saying why not."""
    if os.environ.get("SCRATCHNET_SGD_PATH", "").lower() == "numpy":
        raise LookupError("SCRATCHNET_SGD_PATH=numpy")
    config = _numpy_openblas_config()
    try:
        umath = importlib.import_module("numpy._core._multiarray_umath")  # NumPy >= 2
    except ImportError:
        umath = importlib.import_module("numpy.core._multiarray_umath")
    try:
        numpy_module = ctypes.CDLL(umath.__file__, mode=os.RTLD_NOLOAD)
    except (AttributeError, OSError) as e:  # no RTLD_NOLOAD (Windows), or not a shared object
        raise LookupError(f"cannot open NumPy's own module ({e})") from None
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
