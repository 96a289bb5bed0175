"""Arrays for the summaries: tensors to NumPy, images to height-width-channel, image grids and
matplotlib figures to pixels (as PyTorch's ``torch.utils.tensorboard._utils``)."""

from __future__ import annotations

import numpy as np


def make_np(x) -> np.ndarray:
    """A NumPy array of ``x`` (an array, a Python or NumPy number, or a tensor)."""
    from glassgrad.tensor import Tensor

    if isinstance(x, np.ndarray):
        return x
    if np.isscalar(x):
        return np.array([x])
    if isinstance(x, Tensor):
        from glassgrad import dtypes

        if x.dtype == dtypes.bfloat16:
            x = x.to(dtypes.float16)
        return x.detach().numpy()
    raise NotImplementedError(f"Got {type(x)}, but numpy array or torch tensor are expected.")


def make_grid(images, ncols=8) -> np.ndarray:
    """N images (N1HW or N3HW) side by side, ``ncols`` a row: 3HW."""
    if images.shape[1] == 1:
        images = np.concatenate([images, images, images], 1)
    if images.ndim != 4 or images.shape[1] != 3:
        raise AssertionError("Input should be a 4D numpy array with 3 channels")
    count, _, height, width = images.shape
    ncols = min(count, ncols)
    nrows = int(np.ceil(float(count) / ncols))
    canvas = np.zeros((3, height * nrows, width * ncols), dtype=images.dtype)
    for i in range(count):
        y, x = divmod(i, ncols)
        canvas[:, y * height : (y + 1) * height, x * width : (x + 1) * width] = images[i]
    return canvas


def convert_to_HWC(tensor, input_format) -> np.ndarray:  # noqa: N802 - PyTorch's name
    """An image (or a batch, as a grid) laid out as height, width, 3 channels."""
    if len(set(input_format)) != len(input_format):
        raise AssertionError(
            "You can not use the same dimension shorthand twice.             input_format: "
            f"{input_format}"
        )
    if len(tensor.shape) != len(input_format):
        raise AssertionError(
            "size of input tensor and input format are different.         tensor shape: "
            f"{tensor.shape}, input_format: {input_format}"
        )
    input_format = input_format.upper()
    if len(input_format) == 4:
        nchw = tensor.transpose([input_format.find(c) for c in "NCHW"])
        return make_grid(nchw).transpose(1, 2, 0)
    if len(input_format) == 3:
        hwc = tensor.transpose([input_format.find(c) for c in "HWC"])
        if hwc.shape[2] == 1:
            hwc = np.concatenate([hwc, hwc, hwc], 2)
        return hwc
    hw = tensor.transpose([input_format.find(c) for c in "HW"])
    return np.stack([hw, hw, hw], 2)


def figure_to_image(figures, close=True) -> np.ndarray:
    """A matplotlib figure (or a list of them) rendered to CHW (NCHW) uint8 pixels."""
    import matplotlib.backends.backend_agg as backend_agg
    import matplotlib.pyplot as plt

    def render(figure):
        canvas = backend_agg.FigureCanvasAgg(figure)
        canvas.draw()
        data = np.frombuffer(canvas.buffer_rgba(), dtype=np.uint8)
        width, height = figure.canvas.get_width_height()
        chw = np.moveaxis(data.reshape([height, width, 4])[:, :, 0:3], 2, 0)
        if close:
            plt.close(figure)
        return chw

    if isinstance(figures, list):
        return np.stack([render(figure) for figure in figures])
    return render(figures)
