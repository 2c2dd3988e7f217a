/*
 * xen-amd-iommu-v2: a virtual AMD IOMMUv2 PCI function
 *
 * The device is two parts, as in QEMU's RISC-V IOMMU: an engine that owns
 * the register file, the command buffer and the event and PPR logs and
 * knows nothing of PCI (hw/xen/xen-amd-iommu-v2.c), and the PCI transport
 * that owns config space, the capability block, MSI and the BAR
 * (hw/xen/xen-amd-iommu-v2-pci.c).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_XEN_XEN_AMD_IOMMU_V2_H
#define HW_XEN_XEN_AMD_IOMMU_V2_H

#include "hw/pci/pci_device.h"
#include "qom/object.h"
#include "exec/memattrs.h"
#include "exec/memory.h"
#include "qemu/thread.h"
#include "qapi/qapi-types-common.h"
#include "hw/xen/xen-amd-iommu-v2-link.h"

#define TYPE_XEN_AMD_IOMMU_V2 "xen-amd-iommu-v2"
#define TYPE_XEN_AMD_IOMMU_V2_REQUESTER "xen-amd-iommu-v2-requester"
OBJECT_DECLARE_SIMPLE_TYPE(XenAmdIommuV2State, XEN_AMD_IOMMU_V2)

/* Implemented 64-bit registers, in MMIO offset order (see -bits.h). */
enum XenAmdIommuV2Reg {
    XAI_R_DEVTAB_BASE,
    XAI_R_CMD_BASE,
    XAI_R_EVT_BASE,
    XAI_R_CONTROL,
    XAI_R_EXCL_BASE,
    XAI_R_EXCL_LIMIT,
    XAI_R_EFR,
    XAI_R_PPR_BASE,
    XAI_R_HW_EVT_HI,
    XAI_R_HW_EVT_LO,
    XAI_R_HW_EVT_STATUS,
    XAI_R_CMD_HEAD,
    XAI_R_CMD_TAIL,
    XAI_R_EVT_HEAD,
    XAI_R_EVT_TAIL,
    XAI_R_STATUS,
    XAI_R_PPR_HEAD,
    XAI_R_PPR_TAIL,
    XAI_R_COUNT
};

/* Features the user chose; they make up the Extended Feature Register. */
typedef struct XenAmdIommuV2Features {
    bool prefetch;
    bool ppr;
    bool gt;
    bool ia;
    bool he;
    bool gio;
    bool eph;
    uint8_t pasid_bits;     /* PASmax + 1 */
    uint8_t host_levels;    /* HATS: 4, 5 or 6 page-table levels */
    uint8_t guest_levels;   /* GATS: 4 or 5 */
    uint8_t gcr3_levels;    /* GLXSup + 1: 1 or 2 */
} XenAmdIommuV2Features;

/* What the engine has done; read by query-xen-amd-iommu-v2. */
typedef struct XenAmdIommuV2Counters {
    uint64_t commands[16];  /* executed, by opcode */
    uint64_t illegal_commands;
    uint64_t events;        /* event log entries written */
    uint64_t ppr_requests;  /* PPR log entries written */
    uint64_t ppr_completions;
    uint64_t log_drops;     /* entries lost: log off, full or broken */
    uint64_t interrupts;    /* MSIs sent */
    uint64_t translations;  /* page walks done */
    uint64_t iotlb_hits;
    uint64_t faults;        /* translation faults */
    uint64_t register_accesses; /* guest reads + writes served here */
} XenAmdIommuV2Counters;

/* A page request as the PPR log records it (2.6). */
typedef struct XenAmdIommuV2PprRequest {
    uint16_t devid;
    bool pasid_valid;
    uint32_t pasid;
    uint16_t tag;
    uint16_t flags;         /* PPR flags, bits [11:0] */
    uint64_t address;
} XenAmdIommuV2PprRequest;

/* A COMPLETE_PPR_REQUEST as the engine received it (2.4.7). */
typedef struct XenAmdIommuV2PprCompletion {
    uint16_t devid;
    bool pasid_valid;
    uint32_t pasid;
    uint16_t tag;
    uint8_t status;
} XenAmdIommuV2PprCompletion;

/* A DMA request as the IOMMU sees it */
typedef struct XenAmdIommuV2Request {
    uint16_t devid;
    bool pasid_valid;
    uint32_t pasid;
    bool is_write;
    bool is_user;           /* PASID requests: user privilege */
    bool translation;       /* an ATS translation request (events' TR) */
    hwaddr addr;
} XenAmdIommuV2Request;

/* Its outcome: a page and the access it allows, or a fault */
typedef struct XenAmdIommuV2Translation {
    bool fault;
    bool ppr_eligible;      /* fault on a PASID request, DTE.PPR set */
    hwaddr addr;            /* translated address of the page */
    hwaddr page_mask;       /* page size - 1 */
    bool read, write;
} XenAmdIommuV2Translation;

typedef struct XenAmdIommuV2Engine XenAmdIommuV2Engine;

/* How the engine reaches its transport. */
typedef struct XenAmdIommuV2EngineOps {
    /* Cached translations were dropped (devid, or -1 for all) */
    void (*invalidated)(XenAmdIommuV2Engine *e, int devid);
    /* A COMPLETE_PPR_REQUEST for a requester; may be NULL. */
    void (*ppr_complete)(XenAmdIommuV2Engine *e,
                         const XenAmdIommuV2PprCompletion *c);
} XenAmdIommuV2EngineOps;

struct XenAmdIommuV2Engine {
    /* Guest-visible state (migrated) */
    uint64_t regs[XAI_R_COUNT];

    /* Derived from the features at realize (not migrated) */
    uint64_t regs_rw[XAI_R_COUNT];     /* bits software may write */
    uint64_t regs_wc[XAI_R_COUNT];     /* write-1-to-clear bits */
    uint64_t efr;

    /* Where the engine's own memory accesses go */
    AddressSpace *dma_as;
    MemTxAttrs dma_attrs;

    const XenAmdIommuV2EngineOps *ops;
    void *opaque;

    /*
     * Serializes everything below and the registers: translations come
     * from threads without the BQL (iothreads), the rest under it. Taken
     * after the BQL, never before it: nothing under it may wait for the
     * BQL (no MMIO dispatch, MSIs sent from a bottom half off the BQL).
     * Recursive, as a translation may nest in a command (an MSI or a
     * completion reaching a device that does DMA).
     */
    QemuRecMutex lock;
    /* An MSI raised, to be sent outside the lock (migrated if pending) */
    bool irq_pending;

    /* Set while the command buffer is being drained (reentrancy guard) */
    bool draining;
    /* A command's failed memory access, else -1 (the command itself) */
    hwaddr cmd_error_addr;

    /* IOTLB: XaiIotlbEntry by (devid, PASID, 4 KiB page), bounded */
    GHashTable *iotlb;
    /* The last fault, to report an access QEMU split up once */
    struct {
        uint64_t addr;
        uint32_t pasid;     /* XAI_NO_PASID: untagged */
        uint16_t devid;
        bool write;
        bool user;
        bool valid;
    } last_fault;

    XenAmdIommuV2Counters counters;
    bool have_last_completion;
    XenAmdIommuV2PprCompletion last_completion;
};

typedef struct XenAmdIommuV2Space XenAmdIommuV2Space;

struct XenAmdIommuV2State {
    PCIDevice parent_obj;

    MemoryRegion mmio;
    bool mapped;            /* mmio is in system memory */
    XenAmdIommuV2Engine engine;
    /* The MSI of an engine that ran without the BQL (an iothread's DMA) */
    QEMUBH *irq_bh;
    VMChangeStateEntry *vm_state_change;

    /* Where the fast path runs (QEMU's engine or the hypervisor's) */
    XenAmdIommuV2Link link;
    /* The hypervisor's register state cannot migrate (ABI 1.0) */
    Error *migration_blocker;

    /* DMA remapping: per-bus arrays of per-devfn address spaces */
    bool translating;
    GHashTable *spaces;
    /* every space in spaces, for walks that visit them all */
    GPtrArray *live_spaces;
    /* arrays of spaces whose bus went with its bridge */
    GPtrArray *gone_spaces;
    /* passed-through devices bound in the link: device -> guest BDF */
    DeviceListener device_listener;
    GHashTable *passthrough;
    bool warned_pasid_bits;
    /* A refused window or MSI went to the host's log (once each) */
    bool said_base_refused;
    bool said_msi_refused;

    /* Properties */
    uint16_t device_id;
    uint64_t mmio_base;
    OnOffAuto fast_path;
    char *binds;            /* "gbdf=mseg:mbus:mdev.fn+..." */
    XenAmdIommuV2Features features;
};

/* Engine API, used by the transport and the QMP commands */
void xen_amd_iommu_v2_engine_init(XenAmdIommuV2Engine *e,
                                  const XenAmdIommuV2Features *f,
                                  AddressSpace *dma_as, MemTxAttrs attrs,
                                  const XenAmdIommuV2EngineOps *ops,
                                  void *opaque);
void xen_amd_iommu_v2_engine_exit(XenAmdIommuV2Engine *e);
void xen_amd_iommu_v2_engine_reset(XenAmdIommuV2Engine *e);
uint64_t xen_amd_iommu_v2_engine_read(XenAmdIommuV2Engine *e, hwaddr addr,
                                      unsigned size);
void xen_amd_iommu_v2_engine_write(XenAmdIommuV2Engine *e, hwaddr addr,
                                   uint64_t val, unsigned size);
bool xen_amd_iommu_v2_engine_post_load(XenAmdIommuV2Engine *e);
uint32_t xen_amd_iommu_v2_address_sizes(const XenAmdIommuV2Features *f);
bool xen_amd_iommu_v2_translate(XenAmdIommuV2Engine *e,
                                const XenAmdIommuV2Request *req,
                                XenAmdIommuV2Translation *t);
bool xen_amd_iommu_v2_enabled(XenAmdIommuV2Engine *e);
bool xen_amd_iommu_v2_take_irq(XenAmdIommuV2Engine *e);
void xen_amd_iommu_v2_irq_resync(XenAmdIommuV2Engine *e);
void xen_amd_iommu_v2_deliver_irq(XenAmdIommuV2State *s);
uint64_t xen_amd_iommu_v2_base(XenAmdIommuV2State *s, bool *decode);
void xen_amd_iommu_v2_bound(XenAmdIommuV2State *s);
/* Whether @s translates @dev's DMA (the IOMMU of its bus, not bypassed) */
bool xen_amd_iommu_v2_translates(XenAmdIommuV2State *s, PCIDevice *dev);
bool xen_amd_iommu_v2_ppr_encode(const XenAmdIommuV2Engine *e,
                                 const XenAmdIommuV2PprRequest *req,
                                 uint64_t entry[2], Error **errp);
bool xen_amd_iommu_v2_ppr_request(XenAmdIommuV2Engine *e,
                                  const XenAmdIommuV2PprRequest *req,
                                  Error **errp);
/* A page request for the guest's PPR log, wherever the fast path keeps it */
bool xen_amd_iommu_v2_page_request(XenAmdIommuV2State *s,
                                   const XenAmdIommuV2PprRequest *req,
                                   Error **errp);

/* The test requester's side of a COMPLETE_PPR_REQUEST */
void xen_amd_iommu_v2_requester_response(PCIDevice *pdev,
                                         const XenAmdIommuV2PprCompletion *c);

extern const VMStateDescription vmstate_xen_amd_iommu_v2_engine;

#endif /* HW_XEN_XEN_AMD_IOMMU_V2_H */
