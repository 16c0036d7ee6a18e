"""Kernel error numbers the modelled paths return (negative, as in the kernel)."""

EINTR = -4
EAGAIN = -11
ENOMEM = -12
EBUSY = -16
EINVAL = -22
ENOENT = -2

NAMES = {
    0: "ok",
    EINTR: "-EINTR",
    EAGAIN: "-EAGAIN",
    ENOMEM: "-ENOMEM",
    EBUSY: "-EBUSY",
    EINVAL: "-EINVAL",
    ENOENT: "-ENOENT",
}


def errname(ret: int) -> str:
    return NAMES.get(ret, str(ret))
