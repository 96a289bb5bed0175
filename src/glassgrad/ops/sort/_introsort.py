"""The order in which C++'s ``std::sort`` (libstdc++'s introsort) leaves a row, for the kernels
whose results depend on it.

PyTorch's CPU ``mode`` sorts each row's ``(value, index)`` pairs with ``std::sort`` on the value
alone, then reports the last index of the longest run. ``std::sort`` is not stable above 16
elements, and NaN (which compares false with everything) stays wherever the algorithm happens to
leave it, so which index ``mode`` reports, and whether a NaN wins, follow from the algorithm's
exact steps. They are reproduced here, step for step: median-of-three quicksort down to runs of 16,
then insertion sort.
"""

from __future__ import annotations

_RUN = 16  # below this many elements, libstdc++ leaves a range to the final insertion sort


def std_sort_order(keys: list) -> list:
    """Indices ``0..n-1`` in the order ``std::sort`` leaves them under ``keys[i] < keys[j]``."""
    a = list(range(len(keys)))

    def lt(i, j):
        return keys[i] < keys[j]

    def linear_insert(pos):
        val = a[pos]
        before = pos - 1
        while before >= 0 and lt(val, a[before]):
            a[pos] = a[before]
            pos = before
            before -= 1
        a[pos] = val

    def insertion_sort(first, last):
        for i in range(first + 1, last):
            if lt(a[i], a[first]):
                a[first : i + 1] = [a[i], *a[first:i]]
            else:
                linear_insert(i)

    def median_to_first(result, x, y, z):
        if lt(a[x], a[y]):
            pick = y if lt(a[y], a[z]) else z if lt(a[x], a[z]) else x
        else:
            pick = x if lt(a[x], a[z]) else z if lt(a[y], a[z]) else y
        a[result], a[pick] = a[pick], a[result]

    def partition(first, last, pivot):
        while True:
            while first < len(a) and lt(a[first], a[pivot]):
                first += 1
            last -= 1
            while last > 0 and lt(a[pivot], a[last]):
                last -= 1
            if first >= last:
                return first
            a[first], a[last] = a[last], a[first]
            first += 1

    def introsort(first, last, depth):
        while last - first > _RUN:
            if depth == 0:  # (heap sort in C++; a guard against quadratic splits, not reached
                # by the sizes where the order of equal elements is observable in practice)
                a[first:last] = sorted(a[first:last], key=keys.__getitem__)
                return
            depth -= 1
            median_to_first(first, first + 1, first + (last - first) // 2, last - 1)
            cut = partition(first + 1, last, first)
            introsort(cut, last, depth)
            last = cut

    n = len(a)
    if n > 1:
        introsort(0, n, 2 * (n.bit_length() - 1))
        if n > _RUN:
            insertion_sort(0, _RUN)
            for i in range(_RUN, n):
                linear_insert(i)
        else:
            insertion_sort(0, n)
    return a


def mode_of_row(keys: list) -> int:
    """The index PyTorch's CPU ``mode`` reports for one row: the last element of the first
    longest run of equal values, in ``std::sort``'s order."""
    ordered = std_sort_order(keys)
    best = count = longest = 0
    last = len(ordered) - 1
    for i, index in enumerate(ordered):
        count += 1
        if i == last or keys[index] != keys[ordered[i + 1]]:
            if count > longest:
                best, longest = index, count
            count = 0
    return best
