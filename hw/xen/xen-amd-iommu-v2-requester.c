/*
 * xen-amd-iommu-v2-requester: a PCIe endpoint with ATS, PRI and PASID
 *
 * The device a GPU would be to the IOMMU, reduced to what exercises it:
 * it issues DMA tagged with a PASID (translated through the IOMMU the
 * way an ATS translation request is answered), and when a translation
 * fails it sends a page request (PRI), which the IOMMU logs in the guest's
 * PPR log; the guest's COMPLETE_PPR_REQUEST comes back as the response.
 * Untagged DMA goes through the ordinary bus-master address space.
 *
 * Registers (BAR 0, 4 KiB; little endian):
 *   0x00 PASID                      0x04 FLAGS (bit 0 PASID valid,
 *   0x08 ADDRESS (64-bit IOVA)          bit 1 user, bit 2 no auto PRI,
 *                                       bit 3 write the buffer's first
 *                                       8 bytes (untagged) at reset)
 *   0x10 LENGTH (<= 2048)           0x14 COMMAND (1 read from memory,
 *   0x18 STATUS                         2 write to memory, 3 page request)
 *   0x1c RESPONSE (last PRG code)   0x20 TAG (page request group index)
 *   0x24 REPEAT (run a read/write command this many times, for
 *        benchmarks; at most        0x28 STRIDE (address step per repeat)
 *        property repeat-max, 65536
 *        by default, and 8 MiB per command)
 *   0x800-0xfff data buffer
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qapi/error.h"
#include "exec/address-spaces.h"
#include "hw/pci/pci_device.h"
#include "hw/pci/pcie.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "hw/xen/xen-amd-iommu-v2.h"
#include "trace.h"

#define REQ_PASID       0x00
#define REQ_FLAGS       0x04
#define REQ_ADDRESS     0x08
#define REQ_LENGTH      0x10
#define REQ_COMMAND     0x14
#define REQ_STATUS      0x18
#define REQ_RESPONSE    0x1c
#define REQ_TAG         0x20
#define REQ_REPEAT      0x24
#define REQ_STRIDE      0x28
#define REQ_REPEAT_MAX  (1u << 16)
#define REQ_REPEAT_BYTES (8u << 20)
#define REQ_BUF         0x800
#define REQ_BUF_SIZE    0x800

#define REQ_F_PASID     BIT(0)
#define REQ_F_USER      BIT(1)
#define REQ_F_NO_PRI    BIT(2)
#define REQ_F_WRITE_AT_RESET BIT(3)

enum {
    REQ_CMD_READ = 1,
    REQ_CMD_WRITE = 2,
    REQ_CMD_PAGE_REQUEST = 3,
};

enum {
    REQ_ST_DONE = 0,
    REQ_ST_FAULT = 1,           /* translation failed, nothing sent */
    REQ_ST_PRI_PENDING = 2,     /* page request sent, awaiting response */
    REQ_ST_PRI_SUCCESS = 3,
    REQ_ST_PRI_FAILURE = 4,
};

/* Extended capabilities, in config space order */
#define REQ_ATS_OFFSET      0x100
#define REQ_PASID_OFFSET    0x120
#define REQ_PASID_SIZE      8
#define REQ_PRI_OFFSET      0x140
#define REQ_PRI_SIZE        16
#define REQ_PASID_WIDTH     20
#define REQ_PRI_CAPACITY    32
/*
 * A page request's tag: the page request group index (9 bits), and bit 9
 * for the group's last request (PRI's L bit, where Linux reads it in the
 * PPR log). Each request here is a group of one.
 */
#define REQ_PRG_INDEX       0x1ff
#define REQ_PRG_LAST        0x200
#define REQ_PRG_RESPONSE_FAILURE 0xf

/* PPR flags a page request carries (as the PPR log shows them) */
#define PPR_FLAG_READ       0x004
#define PPR_FLAG_WRITE      0x020
#define PPR_FLAG_USER       0x040

OBJECT_DECLARE_SIMPLE_TYPE(XenAmdIommuV2Requester, XEN_AMD_IOMMU_V2_REQUESTER)

struct XenAmdIommuV2Requester {
    PCIDevice parent_obj;
    MemoryRegion mmio;
    XenAmdIommuV2State *iommu;

    uint32_t pasid;
    uint32_t flags;
    uint64_t address;
    uint32_t length;
    uint32_t status;
    uint32_t response;
    uint32_t tag;
    uint32_t repeat;
    uint32_t stride;
    uint32_t repeat_max;
    /* A Response Failure came: no page request until PRI is re-enabled */
    bool pri_failed;
    uint8_t buf[REQ_BUF_SIZE];
};

static bool req_pasid_enabled(XenAmdIommuV2Requester *r)
{
    return pci_get_word(PCI_DEVICE(r)->config + REQ_PASID_OFFSET +
                        PCI_PASID_CTRL) & PCI_PASID_CTRL_ENABLE;
}

static bool req_pri_enabled(XenAmdIommuV2Requester *r)
{
    return pci_get_word(PCI_DEVICE(r)->config + REQ_PRI_OFFSET +
                        PCI_PRI_CTRL) & PCI_PRI_CTRL_ENABLE;
}

static void req_pri_status_set(XenAmdIommuV2Requester *r, uint16_t bits)
{
    pci_word_test_and_set_mask(PCI_DEVICE(r)->config + REQ_PRI_OFFSET +
                               PCI_PRI_STATUS, bits);
}

/*
 * PRI Status.Stopped: the interface is disabled and no page request is
 * outstanding. Linux's pci_enable_pri() refuses a function without it.
 */
static void req_pri_update_stopped(XenAmdIommuV2Requester *r)
{
    uint8_t *status = PCI_DEVICE(r)->config + REQ_PRI_OFFSET +
                      PCI_PRI_STATUS;

    if (!req_pri_enabled(r) && r->status != REQ_ST_PRI_PENDING) {
        pci_word_test_and_set_mask(status, PCI_PRI_STATUS_STOPPED);
    } else {
        pci_word_test_and_clear_mask(status, PCI_PRI_STATUS_STOPPED);
    }
}

/* A page request for the page of @addr */
static void req_page_request(XenAmdIommuV2Requester *r, uint64_t addr,
                             bool is_write)
{
    XenAmdIommuV2PprRequest ppr = {
        .devid = pci_requester_id(PCI_DEVICE(r)),
        .pasid_valid = r->flags & REQ_F_PASID,
        .pasid = r->pasid,
        .tag = ((r->tag + 1) & REQ_PRG_INDEX) | REQ_PRG_LAST,
        .flags = (is_write ? PPR_FLAG_WRITE : PPR_FLAG_READ) |
                 ((r->flags & REQ_F_USER) ? PPR_FLAG_USER : 0),
        .address = addr & ~0xfffULL,
    };
    Error *err = NULL;

    r->tag = ppr.tag & REQ_PRG_INDEX;
    if (!r->iommu || !req_pri_enabled(r) || r->pri_failed) {
        r->status = REQ_ST_FAULT;
        return;
    }
    if (!xen_amd_iommu_v2_page_request(r->iommu, &ppr, &err)) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: page request refused: %s\n",
                      TYPE_XEN_AMD_IOMMU_V2, error_get_pretty(err));
        error_free(err);
        r->status = REQ_ST_FAULT;
        return;
    }
    r->status = REQ_ST_PRI_PENDING;
}

/*
 * PASID-tagged DMA: each page is translated by the IOMMU (what an ATS
 * translation request returns) and then accessed untranslated, as a bus
 * master with this function's requester ID.
 */
static void req_pasid_dma(XenAmdIommuV2Requester *r, bool is_write)
{
    PCIDevice *pdev = PCI_DEVICE(r);
    MemTxAttrs attrs = { .requester_id = pci_requester_id(pdev) };
    uint64_t done = 0;

    if (!r->iommu || !req_pasid_enabled(r) ||
        !(pci_get_word(pdev->config + PCI_COMMAND) & PCI_COMMAND_MASTER)) {
        r->status = REQ_ST_FAULT;
        return;
    }
    while (done < r->length) {
        XenAmdIommuV2Request q = {
            .devid = pci_requester_id(PCI_DEVICE(r)),
            .pasid_valid = true,
            .pasid = r->pasid,
            .is_write = is_write,
            .is_user = r->flags & REQ_F_USER,
            .translation = true,
            .addr = r->address + done,
        };
        XenAmdIommuV2Translation t;
        uint64_t chunk = MIN(r->length - done,
                             0x1000 - (q.addr & 0xfff));
        bool ok = xen_amd_iommu_v2_translate(&r->iommu->engine, &q, &t);

        xen_amd_iommu_v2_deliver_irq(r->iommu);     /* a fault logged */
        if (!ok) {
            if (t.ppr_eligible && !(r->flags & REQ_F_NO_PRI)) {
                req_page_request(r, q.addr, is_write);
            } else {
                r->status = REQ_ST_FAULT;
            }
            return;
        }
        if (address_space_rw(&address_space_memory,
                             t.addr | (q.addr & 0xfff), attrs,
                             r->buf + done, chunk, is_write) != MEMTX_OK) {
            r->status = REQ_ST_FAULT;
            return;
        }
        done += chunk;
    }
    r->status = REQ_ST_DONE;
}

static void req_dma(XenAmdIommuV2Requester *r, bool is_write)
{
    if (r->flags & REQ_F_PASID) {
        req_pasid_dma(r, is_write);
    } else {
        r->status = pci_dma_rw(PCI_DEVICE(r), r->address, r->buf,
                               r->length, is_write ?
                               DMA_DIRECTION_FROM_DEVICE :
                               DMA_DIRECTION_TO_DEVICE,
                               MEMTXATTRS_UNSPECIFIED) == MEMTX_OK ?
                    REQ_ST_DONE : REQ_ST_FAULT;
    }
}

/* Repeats let a benchmark time translation without a vCPU in the loop */
static void req_dma_repeated(XenAmdIommuV2Requester *r, bool is_write)
{
    uint64_t start = r->address;
    /*
     * Bounded work per register write, repeats and bytes both: about a
     * tenth of a second even in a sanitizer build
     */
    uint32_t n = MIN(MIN(MAX(r->repeat, 1), r->repeat_max),
                     REQ_REPEAT_BYTES / MAX(r->length, 8));
    uint32_t i;

    for (i = 0; i < n; i++) {
        req_dma(r, is_write);
        if (r->status != REQ_ST_DONE) {
            break;
        }
        r->address += r->stride;
    }
    r->address = start;
}

static void req_command(XenAmdIommuV2Requester *r, uint32_t cmd)
{
    bool is_write = cmd == REQ_CMD_WRITE;

    r->length = MIN(r->length, REQ_BUF_SIZE);
    switch (cmd) {
    case REQ_CMD_READ:
    case REQ_CMD_WRITE:
        req_dma_repeated(r, is_write);
        break;
    case REQ_CMD_PAGE_REQUEST:
        req_page_request(r, r->address, false);
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR, "%s-requester: bad command %u\n",
                      TYPE_XEN_AMD_IOMMU_V2, cmd);
        return;
    }
    trace_xen_amd_iommu_v2_req_command(cmd, r->pasid, r->flags, r->address,
                                       r->length, r->status);
}

/* The IOMMU hands over a COMPLETE_PPR_REQUEST addressed to us */
void xen_amd_iommu_v2_requester_response(PCIDevice *pdev,
                                         const XenAmdIommuV2PprCompletion *c)
{
    XenAmdIommuV2Requester *r = (XenAmdIommuV2Requester *)
        object_dynamic_cast(OBJECT(pdev), TYPE_XEN_AMD_IOMMU_V2_REQUESTER);

    if (!r) {
        return;
    }
    trace_xen_amd_iommu_v2_req_response(c->tag, c->status,
                                        r->status == REQ_ST_PRI_PENDING &&
                                        (c->tag & REQ_PRG_INDEX) == r->tag);
    if (r->pri_failed) {
        return;     /* after a Response Failure, responses are ignored */
    }
    /* The response names the group (PRI's response has no L bit) */
    if (r->status != REQ_ST_PRI_PENDING ||
        (c->tag & REQ_PRG_INDEX) != r->tag) {
        req_pri_status_set(r, PCI_PRI_STATUS_UPRGI);
        return;
    }
    if (c->status == REQ_PRG_RESPONSE_FAILURE) {
        /* the interface stops until re-enabled, whatever RF is set to */
        req_pri_status_set(r, PCI_PRI_STATUS_RF);
        r->pri_failed = true;
    }
    r->response = c->status;
    r->status = c->status ? REQ_ST_PRI_FAILURE : REQ_ST_PRI_SUCCESS;
}

static uint64_t req_register_read(XenAmdIommuV2Requester *r, hwaddr addr,
                                  unsigned size)
{
    uint64_t val = 0;

    if (addr >= REQ_BUF) {
        if (addr - REQ_BUF + size > REQ_BUF_SIZE) {
            return 0;
        }
        memcpy(&val, r->buf + (addr - REQ_BUF), size);
        return le64_to_cpu(val);
    }
    switch (addr) {
    case REQ_PASID:
        return r->pasid;
    case REQ_FLAGS:
        return r->flags;
    case REQ_ADDRESS:
        return (uint32_t)r->address;
    case REQ_ADDRESS + 4:
        return r->address >> 32;
    case REQ_LENGTH:
        return r->length;
    case REQ_STATUS:
        return r->status;
    case REQ_RESPONSE:
        return r->response;
    case REQ_TAG:
        return r->tag;
    case REQ_REPEAT:
        return r->repeat;
    case REQ_STRIDE:
        return r->stride;
    default:
        return 0;
    }
}

static uint64_t req_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    uint64_t val = req_register_read(opaque, addr, size);

    trace_xen_amd_iommu_v2_req_read(addr, size, val);
    return val;
}

static void req_mmio_write(void *opaque, hwaddr addr, uint64_t val,
                           unsigned size)
{
    XenAmdIommuV2Requester *r = opaque;

    trace_xen_amd_iommu_v2_req_write(addr, size, val);

    if (addr >= REQ_BUF) {
        if (addr - REQ_BUF + size > REQ_BUF_SIZE) {
            return;
        }
        val = cpu_to_le64(val);
        memcpy(r->buf + (addr - REQ_BUF), &val, size);
        return;
    }
    switch (addr) {
    case REQ_PASID:
        r->pasid = val & MAKE_64BIT_MASK(0, REQ_PASID_WIDTH);
        break;
    case REQ_FLAGS:
        r->flags = val;
        break;
    case REQ_ADDRESS:
        r->address = deposit64(r->address, 0, 32, val);
        break;
    case REQ_ADDRESS + 4:
        r->address = deposit64(r->address, 32, 32, val);
        break;
    case REQ_LENGTH:
        r->length = val;
        break;
    case REQ_REPEAT:
        r->repeat = val;
        break;
    case REQ_STRIDE:
        r->stride = val;
        break;
    case REQ_COMMAND:
        req_command(r, val);
        break;
    default:
        break;
    }
}

static const MemoryRegionOps req_mmio_ops = {
    .read = req_mmio_read,
    .write = req_mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 4, .max_access_size = 8 },
    /* 8-byte accesses cover two registers: QEMU splits them */
    .impl = { .min_access_size = 4, .max_access_size = 4 },
};

static void req_init_pasid_pri(PCIDevice *pdev)
{
    uint8_t *pasid = pdev->config + REQ_PASID_OFFSET;
    uint8_t *pri = pdev->config + REQ_PRI_OFFSET;

    pcie_add_capability(pdev, PCI_EXT_CAP_ID_PASID, 1, REQ_PASID_OFFSET,
                        REQ_PASID_SIZE);
    pci_set_word(pasid + PCI_PASID_CAP, PCI_PASID_CAP_EXEC |
                 PCI_PASID_CAP_PRIV | REQ_PASID_WIDTH << 8);
    pci_set_word(pdev->wmask + REQ_PASID_OFFSET + PCI_PASID_CTRL,
                 PCI_PASID_CTRL_ENABLE | PCI_PASID_CTRL_EXEC |
                 PCI_PASID_CTRL_PRIV);

    pcie_add_capability(pdev, PCI_EXT_CAP_ID_PRI, 1, REQ_PRI_OFFSET,
                        REQ_PRI_SIZE);
    pci_set_word(pri + PCI_PRI_STATUS, PCI_PRI_STATUS_PASID |
                 PCI_PRI_STATUS_STOPPED);
    pci_set_word(pdev->w1cmask + REQ_PRI_OFFSET + PCI_PRI_STATUS,
                 PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI);
    /* Stopped follows the device's state: a stream carries either value */
    pci_word_test_and_clear_mask(pdev->cmask + REQ_PRI_OFFSET +
                                 PCI_PRI_STATUS, PCI_PRI_STATUS_STOPPED);
    pci_set_long(pri + PCI_PRI_MAX_REQ, REQ_PRI_CAPACITY);
    pci_set_word(pdev->wmask + REQ_PRI_OFFSET + PCI_PRI_CTRL,
                 PCI_PRI_CTRL_ENABLE | PCI_PRI_CTRL_RESET);
    pci_set_long(pdev->wmask + REQ_PRI_OFFSET + PCI_PRI_ALLOC_REQ,
                 0xffffffff);
}

static uint32_t req_config_read(PCIDevice *pdev, uint32_t addr, int len)
{
    req_pri_update_stopped(XEN_AMD_IOMMU_V2_REQUESTER(pdev));
    return pci_default_read_config(pdev, addr, len);
}

/*
 * PRI Control.Reset with Enable clear forgets the outstanding page
 * request (its credit); the bit itself always reads 0. Enabling the
 * interface clears what its status reported.
 */
static void req_config_write(PCIDevice *pdev, uint32_t addr, uint32_t val,
                             int len)
{
    XenAmdIommuV2Requester *r = XEN_AMD_IOMMU_V2_REQUESTER(pdev);
    uint8_t *ctrl = pdev->config + REQ_PRI_OFFSET + PCI_PRI_CTRL;
    bool was_enabled = req_pri_enabled(r);

    pci_default_write_config(pdev, addr, val, len);
    if (!was_enabled && req_pri_enabled(r)) {
        r->pri_failed = false;
        pci_word_test_and_clear_mask(pdev->config + REQ_PRI_OFFSET +
                                     PCI_PRI_STATUS,
                                     PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI);
    }
    if (pci_get_word(ctrl) & PCI_PRI_CTRL_RESET) {
        if (!req_pri_enabled(r) && r->status == REQ_ST_PRI_PENDING) {
            r->status = REQ_ST_FAULT;
        }
        pci_word_test_and_clear_mask(ctrl, PCI_PRI_CTRL_RESET);
    }
}

static void req_realize(PCIDevice *pdev, Error **errp)
{
    XenAmdIommuV2Requester *r = XEN_AMD_IOMMU_V2_REQUESTER(pdev);

    if (!pci_is_express(pdev) || !pci_bus_is_express(pci_get_bus(pdev))) {
        error_setg(errp, "%s-requester needs a PCI Express bus (q35)",
                   TYPE_XEN_AMD_IOMMU_V2);
        return;
    }
    if (r->repeat_max < 1 || r->repeat_max > REQ_REPEAT_MAX) {
        error_setg(errp, "repeat-max must be 1 to %u", REQ_REPEAT_MAX);
        return;
    }
    /*
     * Its PASID requests and page requests go to that IOMMU, which must
     * be the one its requester ID means something to
     */
    if (r->iommu && !xen_amd_iommu_v2_translates(r->iommu, pdev)) {
        error_setg(errp, "iommu=%s does not translate this device: it is "
                   "another IOMMU's, or on a bus that bypasses it",
                   object_get_canonical_path_component(OBJECT(r->iommu)));
        return;
    }
    if (pcie_endpoint_cap_init(pdev, 0x80) < 0) {
        error_setg(errp, "cannot add the PCI Express capability");
        return;
    }
    pcie_ats_init(pdev, REQ_ATS_OFFSET, true);
    req_init_pasid_pri(pdev);
    memory_region_init_io(&r->mmio, OBJECT(r), &req_mmio_ops, r,
                          "xen-amd-iommu-v2-requester", 0x1000);
    pci_register_bar(pdev, 0, PCI_BASE_ADDRESS_SPACE_MEMORY, &r->mmio);
}

/* QEMU's PCI reset leaves extended capabilities alone: their enables */
static void req_reset_capabilities(PCIDevice *pdev)
{
    uint8_t *c = pdev->config;

    pci_set_word(c + REQ_ATS_OFFSET + PCI_ATS_CTRL, 0);
    pci_set_word(c + REQ_PASID_OFFSET + PCI_PASID_CTRL, 0);
    pci_set_word(c + REQ_PRI_OFFSET + PCI_PRI_CTRL, 0);
    pci_set_long(c + REQ_PRI_OFFSET + PCI_PRI_ALLOC_REQ, 0);
    pci_set_word(c + REQ_PRI_OFFSET + PCI_PRI_STATUS,
                 PCI_PRI_STATUS_PASID | PCI_PRI_STATUS_STOPPED);
}

static void req_reset_hold(Object *obj, ResetType type)
{
    XenAmdIommuV2Requester *r = XEN_AMD_IOMMU_V2_REQUESTER(obj);

    /*
     * A device that finishes a write as it resets (virtio completing its
     * requests, a disk controller its DMA): the IOMMU must still
     * translate it, whatever the order the devices reset in.
     */
    if (r->flags & REQ_F_WRITE_AT_RESET) {
        pci_dma_write(PCI_DEVICE(r), r->address, r->buf, 8);
    }
    r->pasid = r->flags = r->length = r->status = 0;
    r->response = r->tag = r->repeat = r->stride = 0;
    r->address = 0;
    r->pri_failed = false;
    memset(r->buf, 0, sizeof(r->buf));
    req_reset_capabilities(PCI_DEVICE(r));
}

/* A stream holds what a guest can write, no more */
static int req_post_load(void *opaque, int version_id)
{
    XenAmdIommuV2Requester *r = opaque;

    r->pasid &= MAKE_64BIT_MASK(0, REQ_PASID_WIDTH);
    r->tag &= REQ_PRG_INDEX;
    /* an older QEMU kept PRI Reset as written */
    pci_word_test_and_clear_mask(PCI_DEVICE(r)->config + REQ_PRI_OFFSET +
                                 PCI_PRI_CTRL, PCI_PRI_CTRL_RESET);
    return 0;
}

static bool req_pri_failed_needed(void *opaque)
{
    XenAmdIommuV2Requester *r = opaque;

    return r->pri_failed;
}

static const VMStateDescription req_vmstate_pri_failed = {
    .name = "xen-amd-iommu-v2-requester/pri-failed",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = req_pri_failed_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_BOOL(pri_failed, XenAmdIommuV2Requester),
        VMSTATE_END_OF_LIST()
    }
};

static const VMStateDescription req_vmstate = {
    .name = "xen-amd-iommu-v2-requester",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = req_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_PCI_DEVICE(parent_obj, XenAmdIommuV2Requester),
        VMSTATE_UINT32(pasid, XenAmdIommuV2Requester),
        VMSTATE_UINT32(flags, XenAmdIommuV2Requester),
        VMSTATE_UINT64(address, XenAmdIommuV2Requester),
        VMSTATE_UINT32(length, XenAmdIommuV2Requester),
        VMSTATE_UINT32(status, XenAmdIommuV2Requester),
        VMSTATE_UINT32(response, XenAmdIommuV2Requester),
        VMSTATE_UINT32(tag, XenAmdIommuV2Requester),
        VMSTATE_UINT32(repeat, XenAmdIommuV2Requester),
        VMSTATE_UINT32(stride, XenAmdIommuV2Requester),
        VMSTATE_UINT8_ARRAY(buf, XenAmdIommuV2Requester, REQ_BUF_SIZE),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription * const []) {
        &req_vmstate_pri_failed,
        NULL
    }
};

static const Property req_properties[] = {
    DEFINE_PROP_LINK("iommu", XenAmdIommuV2Requester, iommu,
                     TYPE_XEN_AMD_IOMMU_V2, XenAmdIommuV2State *),
    DEFINE_PROP_UINT32("repeat-max", XenAmdIommuV2Requester, repeat_max,
                       REQ_REPEAT_MAX),
};

static void req_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);
    ResettableClass *rc = RESETTABLE_CLASS(klass);

    k->realize = req_realize;
    k->config_read = req_config_read;
    k->config_write = req_config_write;
    k->vendor_id = PCI_VENDOR_ID_REDHAT;
    k->device_id = 0x10f0;      /* test device, not for guests' drivers */
    k->class_id = PCI_CLASS_OTHERS;
    rc->phases.hold = req_reset_hold;
    dc->desc = "ATS/PRI/PASID DMA requester for testing xen-amd-iommu-v2";
    dc->vmsd = &req_vmstate;
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    device_class_set_props(dc, req_properties);
    object_class_property_set_description(klass, "iommu",
        "the xen-amd-iommu-v2 that translates PASID requests and takes "
        "page requests");
    object_class_property_set_description(klass, "repeat-max",
        "most repeats of one read or write command (1-65536); a fuzzer "
        "lowers it to spend its time on new inputs, not on repeats");
}

static const TypeInfo req_info = {
    .name = TYPE_XEN_AMD_IOMMU_V2_REQUESTER,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(XenAmdIommuV2Requester),
    .class_init = req_class_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_PCIE_DEVICE },
        { },
    },
};

static void req_register_types(void)
{
    type_register_static(&req_info);
}

type_init(req_register_types)
