#pragma once
// nabla-gradbench's process runs with glibc's malloc advising transparent huge
// pages for its large blocks (docs/gradbench.md, "Huge pages").

namespace nabla::gradbench {

// Re-executes this program (argv as given) with glibc.malloc.hugetlb=1 added
// to GLIBC_TUNABLES, unless GLIBC_TUNABLES already sets glibc.malloc.hugetlb
// (then, or where exec fails or the C library is not glibc, it returns and
// the program goes on as it is). On a host whose page faults are costly (10
// us per fresh 4 KiB page on session 7's virtual machine) the graph building
// of a large sparse Jacobian, whose patterns, sets and layouts are std::vector
// buffers of 60-190 MB, spends most of its time in page faults: ba10's
// prepare 2.5 s on 4 KiB pages, 1.1 s on 2 MiB pages. nabla's own large
// buffers (Tensor storage, workspaces) take huge pages without this.
void use_huge_page_malloc(char** argv);

}  // namespace nabla::gradbench
