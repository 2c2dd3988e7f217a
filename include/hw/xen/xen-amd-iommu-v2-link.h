/*
 * xen-amd-iommu-v2: the link to whatever runs the fast path
 *
 * The device tells its engine where the guest placed the registers, how
 * the guest programmed the IOMMU's MSI, and which guest BDF stands for
 * which machine BDF; the engine sends the IOMMU's interrupts back through
 * it. Two engines answer: Xen's, through the project's device-model ops
 * (docs/specs/xen-amd-iommu-v2-abi.rst), and QEMU's own, which keeps the
 * same facts so a test can see the protocol run.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_XEN_XEN_AMD_IOMMU_V2_LINK_H
#define HW_XEN_XEN_AMD_IOMMU_V2_LINK_H

#include "hw/pci/msi.h"

typedef struct XenAmdIommuV2Link XenAmdIommuV2Link;

/* A guest BDF the engine must treat as a machine one */
typedef struct XenAmdIommuV2Bdf {
    uint16_t guest_bdf;
    uint16_t machine_seg;
    uint16_t machine_bdf;
} XenAmdIommuV2Bdf;

typedef struct XenAmdIommuV2LinkOps {
    const char *name;
    /* The hypervisor serves the registers: QEMU must not claim them */
    bool hypervisor_mmio;
    /*
     * Registers decode at @base; 0: nowhere. @reset: the device was reset,
     * so the registers start again from their reset values.
     */
    bool (*set_base)(XenAmdIommuV2Link *l, uint64_t base, bool reset,
                     Error **errp);
    /* The IOMMU's MSI as programmed; @msg NULL: disabled */
    bool (*set_msi)(XenAmdIommuV2Link *l, const MSIMessage *msg,
                    Error **errp);
    bool (*bind_bdf)(XenAmdIommuV2Link *l, const XenAmdIommuV2Bdf *b,
                     bool bind, Error **errp);
    /* Send the IOMMU's interrupt to the guest */
    bool (*send_msi)(XenAmdIommuV2Link *l, const MSIMessage *msg);
    /*
     * Put a PPR log entry in the guest's log, when the engine at the
     * other end keeps the log; NULL: QEMU's engine does
     */
    bool (*inject_ppr)(XenAmdIommuV2Link *l, const uint64_t entry[2],
                       Error **errp);
} XenAmdIommuV2LinkOps;

struct XenAmdIommuV2Link {
    const XenAmdIommuV2LinkOps *ops;
    void *priv;                 /* the engine end's own state */
    AddressSpace *as;           /* the QEMU engine's MSIs go here */
    MemTxAttrs attrs;

    /* What the link was told, as the QMP query shows it */
    uint64_t base;
    bool msi_enabled;
    MSIMessage msi;
    GArray *bindings;           /* XenAmdIommuV2Bdf */
    /* What the guest programmed, even if the engine end refused it */
    bool guest_msi_enabled;
    MSIMessage guest_msi;
    /* The base last offered to the engine end, taken or not */
    bool base_tried;
    uint64_t tried_base;

    uint64_t set_base_calls;
    uint64_t set_msi_calls;
    uint64_t bind_calls;
    uint64_t msis_sent;
};

extern const XenAmdIommuV2LinkOps xen_amd_iommu_v2_qemu_link;

void xen_amd_iommu_v2_link_init(XenAmdIommuV2Link *l,
                                const XenAmdIommuV2LinkOps *ops,
                                AddressSpace *as, MemTxAttrs attrs);
bool xen_amd_iommu_v2_link_set_base(XenAmdIommuV2Link *l, uint64_t base,
                                    bool reset, Error **errp);
bool xen_amd_iommu_v2_link_set_msi(XenAmdIommuV2Link *l,
                                   const MSIMessage *msg, Error **errp);
bool xen_amd_iommu_v2_link_bind(XenAmdIommuV2Link *l,
                                const XenAmdIommuV2Bdf *b, bool bind,
                                Error **errp);
bool xen_amd_iommu_v2_link_send_msi(XenAmdIommuV2Link *l);

/*
 * Xen's end (xen-amd-iommu-v2-xen.c): 1 if the hypervisor takes instance
 * @id and @l is now its link, 0 if it offers no fast path (*why says
 * why), -1 on an error (@errp).
 */
int xen_amd_iommu_v2_xen_probe(XenAmdIommuV2Link *l, unsigned id,
                               uint64_t efr, const char **why, Error **errp);

/* "seg:bus:dev.fn" or "bus:dev.fn" to a segment and BDF */
bool xen_amd_iommu_v2_parse_bdf(const char *s, uint16_t *seg, uint16_t *bdf,
                                Error **errp);

#endif /* HW_XEN_XEN_AMD_IOMMU_V2_LINK_H */
