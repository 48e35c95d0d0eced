#!/usr/bin/env python3
"""export_weights.py — convert a PyTorch checkpoint (.pth) to safetensors, without torch.

    python3 kernels/tools/export_weights.py resnet152-394f9c45.pth resnet152.safetensors
    python3 kernels/tools/export_weights.py resnext101.pth resnext101-3d.safetensors

Reads both PyTorch serialisations with the standard pickle module and numpy only:
the zip format (torch >= 1.6: archive/data.pkl + archive/data/<key>) and the legacy
format (torch < 1.6, e.g. torchvision's 2017 resnet152-394f9c45.pth and the 2017
kenshohara resnext101.pth: magic, protocol, sys_info, the pickle, storage keys,
then each storage as an int64 count + raw little-endian bytes).
A checkpoint wrapped as {"state_dict": ...} is unwrapped and a "module." prefix
(DataParallel) is stripped. Tensor names and shapes are kept exactly as PyTorch
has them (the engine checks them when loading); float64 becomes F32,
`num_batches_tracked` (int64) is kept as I64 and ignored by the engine.
Only tensors and plain containers can be read: a pickle that references other
classes (a whole nn.Module saved with torch.save(model)) needs torch to
unpickle — load it with torch and save model.state_dict() first.

Output: sorted names, header padded to a multiple of 8, __metadata__ with
"format": "pt", the source file name and its sha256.
"""
import collections
import hashlib
import io
import json
import os
import pickle
import struct
import sys
import tarfile
import zipfile

import numpy as np

DTYPES = {  # torch storage class -> numpy dtype, safetensors dtype
    "FloatStorage": (np.float32, "F32"),
    "DoubleStorage": (np.float64, "F64"),
    "HalfStorage": (np.float16, "F16"),
    "BFloat16Storage": (np.uint16, "BF16"),
    "LongStorage": (np.int64, "I64"),
    "IntStorage": (np.int32, "I32"),
    "ShortStorage": (np.int16, "I16"),
    "CharStorage": (np.int8, "I8"),
    "ByteStorage": (np.uint8, "U8"),
    "BoolStorage": (np.bool_, "BOOL"),
}
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class StorageType:
    def __init__(self, name):
        self.name = name
        self.np, self.st = DTYPES[name]


class Storage:
    """A storage whose bytes are filled in later (legacy) or read at once (zip)."""

    def __init__(self, stype, numel):
        self.stype, self.numel, self.array = stype, numel, None


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def numpy(self):
        a = self.storage.array
        item = a.dtype.itemsize
        if not self.size:
            return a[self.offset:self.offset + 1].reshape(())
        v = np.lib.stride_tricks.as_strided(a[self.offset:], shape=self.size,
                                            strides=[s * item for s in self.stride])
        return np.ascontiguousarray(v)


def rebuild_tensor(storage, offset, size, stride, *rest):
    return Tensor(storage, offset, size, stride)


def rebuild_parameter(data, *rest):
    return data


class Unpickler(pickle.Unpickler):
    def __init__(self, f, load_storage):
        super().__init__(f)
        self.load_storage = load_storage

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return rebuild_parameter
        if module in ("torch", "torch.cuda") and name in DTYPES:  # GPU-saved checkpoints too
            return StorageType(name)
        if module in ("builtins", "__builtin__") and name in ("set", "frozenset", "slice"):
            return getattr(__import__("builtins"), name)
        if module == "argparse" and name == "Namespace":  # some checkpoints keep their args
            return lambda *a, **k: None
        raise pickle.UnpicklingError(
            "%s.%s: this checkpoint needs torch to unpickle (save model.state_dict() "
            "with torch first)" % (module, name))

    def persistent_load(self, pid):
        if pid[0] == "module":
            return None
        if pid[0] != "storage":
            raise pickle.UnpicklingError("unknown persistent id %r" % (pid[0],))
        stype, key, location, numel = pid[1], str(pid[2]), pid[3], pid[4]
        view = pid[5] if len(pid) > 5 else None
        root = self.load_storage(stype, key, numel)
        if view is not None:  # (offset, size) into the root storage
            s = Storage(stype, view[1])
            s.view = (root, view[0])
            return s
        return root


def load_zip(path):
    z = zipfile.ZipFile(path)
    names = z.namelist()
    pkl = [n for n in names if n.endswith("data.pkl")]
    if not pkl:
        raise ValueError("%s: zip without data.pkl: not a PyTorch checkpoint" % path)
    prefix = pkl[0][:-len("data.pkl")]
    cache = {}

    def load_storage(stype, key, numel):
        if key not in cache:
            s = Storage(stype, numel)
            s.array = np.frombuffer(z.read(prefix + "data/" + key), dtype=stype.np).copy()
            cache[key] = s
        return cache[key]

    return Unpickler(io.BytesIO(z.read(pkl[0])), load_storage).load()


def load_legacy(path):
    with open(path, "rb") as f:
        if tarfile.is_tarfile(path):
            raise ValueError("%s: the tar-based format of torch < 0.4 is not supported" % path)
        magic = pickle.load(f)
        if magic != LEGACY_MAGIC:
            raise ValueError("%s: not a PyTorch checkpoint (bad magic)" % path)
        pickle.load(f)  # protocol version
        pickle.load(f)  # sys_info
        storages = {}

        def load_storage(stype, key, numel):
            if key not in storages:
                storages[key] = Storage(stype, numel)
            return storages[key]

        obj = Unpickler(f, load_storage).load()
        keys = pickle.load(f)
        for key in keys:
            s = storages[str(key)]
            (n,) = struct.unpack("<q", f.read(8))
            data = f.read(n * np.dtype(s.stype.np).itemsize)
            s.array = np.frombuffer(data, dtype=s.stype.np).copy()
    return obj


def resolve_views(obj):
    for t in iter_tensors(obj):
        s = t.storage
        if getattr(s, "view", None):
            root, off = s.view
            s.array = root.array[off:off + s.numel]


def iter_tensors(obj):
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from iter_tensors(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from iter_tensors(v)


def load(path):
    obj = load_zip(path) if zipfile.is_zipfile(path) else load_legacy(path)
    resolve_views(obj)
    return obj


def state_dict_of(obj, path):
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise ValueError("%s: no state_dict found (top level is %s)" % (path, type(obj).__name__))
    out = collections.OrderedDict()
    for k, v in obj.items():
        if not isinstance(v, Tensor):
            continue
        name = k[len("module."):] if k.startswith("module.") else k
        out[name] = v
    if not out:
        raise ValueError("%s: the state_dict holds no tensors" % path)
    return out


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs, off = [], 0
    for name in sorted(tensors):
        t = tensors[name]
        a = t.numpy()
        st = t.storage.stype.st
        if st == "F64":
            a, st = a.astype(np.float32), "F32"
        b = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": st, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def main(argv):
    if len(argv) == 2 and argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if len(argv) != 3:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    src, dst = argv[1], argv[2]
    try:
        sd = state_dict_of(load(src), src)
        with open(src, "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        write_safetensors(dst, sd, {"format": "pt", "source": os.path.basename(src),
                                    "source_sha256": sha})
    except (OSError, ValueError, pickle.UnpicklingError, KeyError, EOFError) as e:
        print("export_weights.py: %s" % e, file=sys.stderr)
        return 2
    print("export_weights.py: %s: %d tensors -> %s" % (src, len(sd), dst))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
