"""glassgrad's compiler behind ``glassgrad.compile``: trace (``trace``), plan (``plan``,
``lowering``, ``fusion``), run with guards (``runtime``). See docs/compile.md."""
