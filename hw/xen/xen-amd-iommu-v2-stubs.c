/*
 * xen-amd-iommu-v2 QMP commands for builds without the device
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-xen-amd-iommu-v2.h"
#include "hw/xen/xen-amd-iommu-v2-acpi.h"

XenAmdIommuV2InfoList *qmp_query_xen_amd_iommu_v2(Error **errp)
{
    return NULL;
}

void qmp_xen_amd_iommu_v2_inject_ppr(const char *id, uint16_t devid,
                                     bool has_pasid, uint32_t pasid,
                                     uint16_t tag, uint16_t flags,
                                     uint64_t address, Error **errp)
{
    error_setg(errp, "this QEMU was built without xen-amd-iommu-v2");
}

void qmp_xen_amd_iommu_v2_bind_bdf(const char *id, const char *guest,
                                   const char *machine, bool bind,
                                   Error **errp)
{
    error_setg(errp, "this QEMU was built without xen-amd-iommu-v2");
}

bool xen_amd_iommu_v2_acpi_present(void)
{
    return false;
}

void xen_amd_iommu_v2_build_ivrs(GArray *table_data, BIOSLinker *linker,
                                 const char *oem_id, const char *oem_table_id)
{
    g_assert_not_reached();
}
