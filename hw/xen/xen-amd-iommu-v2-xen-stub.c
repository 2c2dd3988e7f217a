/*
 * xen-amd-iommu-v2: no Xen in this build, so no hypervisor fast path
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/xen/xen-amd-iommu-v2-link.h"

int xen_amd_iommu_v2_xen_probe(XenAmdIommuV2Link *l, unsigned id,
                               uint64_t efr, const char **why, Error **errp)
{
    *why = "this QEMU was built without Xen";
    return 0;
}
