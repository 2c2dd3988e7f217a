/*
 * xen-amd-iommu-v2: what the engine's files share with each other
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_XEN_AMD_IOMMU_V2_INTERNAL_H
#define HW_XEN_AMD_IOMMU_V2_INTERNAL_H

#include "hw/xen/xen-amd-iommu-v2.h"

/* xen-amd-iommu-v2.c */
bool xai_dma_rw(XenAmdIommuV2Engine *e, hwaddr addr, void *buf, hwaddr len,
                bool is_write);
typedef enum XaiDmaUpdate {
    XAI_DMA_UPDATED,
    XAI_DMA_CHANGED,        /* someone else wrote it first */
    XAI_DMA_ERROR,          /* not guest RAM */
} XaiDmaUpdate;
XaiDmaUpdate xai_dma_set_bits(XenAmdIommuV2Engine *e, hwaddr addr,
                              uint64_t *val, uint64_t bits);
void xai_event(XenAmdIommuV2Engine *e, unsigned code, uint64_t q0,
               uint64_t q1);

/* xen-amd-iommu-v2-translate.c: the IOTLB and its invalidations */
void xai_iotlb_init(XenAmdIommuV2Engine *e);
void xai_iotlb_destroy(XenAmdIommuV2Engine *e);
void xai_fault_run_end(XenAmdIommuV2Engine *e);
void xai_iotlb_flush_all(XenAmdIommuV2Engine *e);
void xai_iotlb_flush_devid(XenAmdIommuV2Engine *e, uint16_t devid);
void xai_iotlb_flush_pages(XenAmdIommuV2Engine *e, uint16_t domid,
                           bool gn, uint32_t pasid, uint64_t addr, bool s);

#endif /* HW_XEN_AMD_IOMMU_V2_INTERNAL_H */
