"""Presets: named sets of switches (DESIGN.md §4). ``v5.15`` is itself a set of switches,
the fixes it already contains in this area, so a user can remove one and watch the old
bug come back."""

from __future__ import annotations

V5_15 = frozenset(
    {
        "3c605096d315",
        "d9dddbf55667",
        "7ad69832f37e",
        "ad53f92eb416",
        "51bb1a4093cc",
        "88e8ac11d2ea",
        "968318261221",
        "bac9c6fa1f92",
        "3b12e7e97938",
        "ec6e8c7e0314",
    }
)

# Zi Yan's RFC v1 as posted: only the alignment changes.
RFC_V1 = V5_15 | {"rfc1/1-align", "rfc1/2-vmem-sb"}

# David Hildenbrand's a), b), c) on top of the RFC. c) brings back the MAX_ORDER-1
# extension, limited to pageblocks of the range's own type, so it replaces the RFC's
# pageblock alignment of alloc_contig_range (zonesim.ops.contig.isolation_range); the CMA
# half of RFC 1/3 stays.
PROPOSAL = RFC_V1 | {
    "dh/a-isolate-bit",
    "dh/b-range-unmovable",
    "dh/c-no-extend",
}

# The series as merged, its prerequisites and the 2022 fixes (kernel-reference §4.1-4.3).
V5_19 = V5_15 | {
    "1dd214b8f21c",
    "787af64d05cd",
    "844fbae63e46",
    "b2c9e2fbba32",
    "6e263fff1de4",
    "11ac3e87ce09",
    "448b8ec3bf11",
    "60a60e32cf91",
    "88ee134320b8",
    "9b209e557d69",
    "86d28b070927",
    "547be963c99f",
    "80e2b584f3ab",
}

# v6.0: the pcp spinlock and remote drains; the fix of their fallout came in 6.6.
V6_0 = V5_19 | {"4b23a68f9536", "443c2accd1b6", "01b44456a7aa"}

# v6.10: the fix of the pcp spinlock's fallout (6.6) and the freelist hygiene series.
V6_10 = V6_0 | {
    "7b086755fb8c",
    "17edeb5d3f76",
    "e6cf9e1c4cde",
    "b54ccd3c6bac",
    "2dd482ba627d",
    "c0cd6f557b90",
    "55612e80e722",
    "fd919a85cd55",
    "e0932b6c1f94",
}

# v6.17: free_one_page splits large blocks (6.12), its pfn_to_page fix (6.13), and the
# standalone isolate bit.
V6_17 = V6_10 | {"e98337d11bbd", "faeec8e23c10", "591342fccd72"}

PRESETS: dict[str, tuple[str, frozenset[str]]] = {
    "v5.15": ("the kernel of the founding thread (Nov 2021)", V5_15),
    "rfc-v1": ("Zi Yan's RFC v1 as posted: pageblock alignment only", RFC_V1),
    "proposal": ("David Hildenbrand's a) b) c) on top of rfc-v1", PROPOSAL),
    "v5.19": ("the series as merged, with prerequisites and the 2022 fixes", V5_19),
    "v6.0": ("v5.19 + the pcp spinlock with trylock and remote pcp drains", V6_0),
    "v6.10": ("v6.0 + 7b086755fb8c + Johannes Weiner's freelist migratetype hygiene", V6_10),
    "v6.17": ("v6.10 + split frees of large blocks (6.12, 6.13) + the isolate bit", V6_17),
}
