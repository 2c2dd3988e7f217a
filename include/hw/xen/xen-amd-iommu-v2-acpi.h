/*
 * xen-amd-iommu-v2: the ACPI IVRS table describing every instance
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_XEN_XEN_AMD_IOMMU_V2_ACPI_H
#define HW_XEN_XEN_AMD_IOMMU_V2_ACPI_H

#include "hw/acpi/bios-linker-loader.h"

/* True if the machine has a xen-amd-iommu-v2 whose registers decode */
bool xen_amd_iommu_v2_acpi_present(void);

/* Append an IVRS table with one IVHD pair (types 10h, 11h) per instance */
void xen_amd_iommu_v2_build_ivrs(GArray *table_data, BIOSLinker *linker,
                                 const char *oem_id,
                                 const char *oem_table_id);

#endif /* HW_XEN_XEN_AMD_IOMMU_V2_ACPI_H */
