/*
 * xen-amd-iommu-v2 engine: register file, command buffer, event and PPR logs
 *
 * This is the job Xen's hypervisor emulator (iommu_guest.c) did, done in
 * QEMU for when no hypervisor fast path exists. It knows nothing of PCI:
 * the transport hands it MMIO accesses and an address space, and gives it
 * a way to raise the interrupt.
 *
 * Everything here is driven by a hostile guest. Rules kept throughout:
 * - every loop is bounded by a ring size (one doorbell drains at most one
 *   ring of commands);
 * - guest memory is read and written only where it is RAM, through the
 *   transport's address space, never the device's own registers;
 * - a bad value gives the event or status the specification names, or a
 *   LOG_GUEST_ERROR, never an assertion.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/lockable.h"
#include "qemu/log.h"
#include "qapi/error.h"
#include "exec/address-spaces.h"
#include "exec/memory.h"
#include "migration/vmstate.h"
#include "system/xen.h"
#include "hw/xen/xen-amd-iommu-v2.h"
#include "xen-amd-iommu-v2-bits.h"
#include "xen-amd-iommu-v2-internal.h"
#include "trace.h"

static const struct {
    hwaddr offset;
    const char *name;
} xai_regs[XAI_R_COUNT] = {
    [XAI_R_DEVTAB_BASE]   = { XAI_REG_DEVTAB_BASE,   "DEVTAB_BASE" },
    [XAI_R_CMD_BASE]      = { XAI_REG_CMD_BASE,      "CMD_BASE" },
    [XAI_R_EVT_BASE]      = { XAI_REG_EVT_BASE,      "EVT_BASE" },
    [XAI_R_CONTROL]       = { XAI_REG_CONTROL,       "CONTROL" },
    [XAI_R_EXCL_BASE]     = { XAI_REG_EXCL_BASE,     "EXCL_BASE" },
    [XAI_R_EXCL_LIMIT]    = { XAI_REG_EXCL_LIMIT,    "EXCL_LIMIT" },
    [XAI_R_EFR]           = { XAI_REG_EFR,           "EFR" },
    [XAI_R_PPR_BASE]      = { XAI_REG_PPR_BASE,      "PPR_BASE" },
    [XAI_R_HW_EVT_HI]     = { XAI_REG_HW_EVT_HI,     "HW_EVT_HI" },
    [XAI_R_HW_EVT_LO]     = { XAI_REG_HW_EVT_LO,     "HW_EVT_LO" },
    [XAI_R_HW_EVT_STATUS] = { XAI_REG_HW_EVT_STATUS, "HW_EVT_STATUS" },
    [XAI_R_CMD_HEAD]      = { XAI_REG_CMD_HEAD,      "CMD_HEAD" },
    [XAI_R_CMD_TAIL]      = { XAI_REG_CMD_TAIL,      "CMD_TAIL" },
    [XAI_R_EVT_HEAD]      = { XAI_REG_EVT_HEAD,      "EVT_HEAD" },
    [XAI_R_EVT_TAIL]      = { XAI_REG_EVT_TAIL,      "EVT_TAIL" },
    [XAI_R_STATUS]        = { XAI_REG_STATUS,        "STATUS" },
    [XAI_R_PPR_HEAD]      = { XAI_REG_PPR_HEAD,      "PPR_HEAD" },
    [XAI_R_PPR_TAIL]      = { XAI_REG_PPR_TAIL,      "PPR_TAIL" },
};

/* The two logs the engine writes, described once so one writer serves both */
typedef struct XaiLog {
    const char *name;
    int base, head, tail;       /* register indexes */
    uint64_t enable;            /* control: log enable */
    uint64_t int_enable;        /* control: interrupt enable */
    uint64_t run;               /* status: log running */
    uint64_t overflow;          /* status: overflow */
    uint64_t intr;              /* status: interrupt pending */
} XaiLog;

static const XaiLog xai_event_log = {
    .name = "event", .base = XAI_R_EVT_BASE,
    .head = XAI_R_EVT_HEAD, .tail = XAI_R_EVT_TAIL,
    .enable = XAI_CTRL_EVT_LOG_EN, .int_enable = XAI_CTRL_EVT_INT_EN,
    .run = XAI_STATUS_EVT_LOG_RUN, .overflow = XAI_STATUS_EVT_OVERFLOW,
    .intr = XAI_STATUS_EVT_LOG_INT,
};

static const XaiLog xai_ppr_log = {
    .name = "ppr", .base = XAI_R_PPR_BASE,
    .head = XAI_R_PPR_HEAD, .tail = XAI_R_PPR_TAIL,
    .enable = XAI_CTRL_PPR_LOG_EN, .int_enable = XAI_CTRL_PPR_INT_EN,
    .run = XAI_STATUS_PPR_LOG_RUN, .overflow = XAI_STATUS_PPR_OVERFLOW,
    .intr = XAI_STATUS_PPR_INT,
};

typedef enum XaiCmdResult {
    XAI_CMD_DONE,
    XAI_CMD_ILLEGAL,        /* ILLEGAL_COMMAND_ERROR, buffer stops */
    XAI_CMD_HW_ERROR,       /* COMMAND_HARDWARE_ERROR, buffer stops */
} XaiCmdResult;

static int xai_reg_index(hwaddr offset)
{
    switch (offset) {
    case XAI_REG_DEVTAB_BASE:   return XAI_R_DEVTAB_BASE;
    case XAI_REG_CMD_BASE:      return XAI_R_CMD_BASE;
    case XAI_REG_EVT_BASE:      return XAI_R_EVT_BASE;
    case XAI_REG_CONTROL:       return XAI_R_CONTROL;
    case XAI_REG_EXCL_BASE:     return XAI_R_EXCL_BASE;
    case XAI_REG_EXCL_LIMIT:    return XAI_R_EXCL_LIMIT;
    case XAI_REG_EFR:           return XAI_R_EFR;
    case XAI_REG_PPR_BASE:      return XAI_R_PPR_BASE;
    case XAI_REG_HW_EVT_HI:     return XAI_R_HW_EVT_HI;
    case XAI_REG_HW_EVT_LO:     return XAI_R_HW_EVT_LO;
    case XAI_REG_HW_EVT_STATUS: return XAI_R_HW_EVT_STATUS;
    case XAI_REG_CMD_HEAD:      return XAI_R_CMD_HEAD;
    case XAI_REG_CMD_TAIL:      return XAI_R_CMD_TAIL;
    case XAI_REG_EVT_HEAD:      return XAI_R_EVT_HEAD;
    case XAI_REG_EVT_TAIL:      return XAI_R_EVT_TAIL;
    case XAI_REG_STATUS:        return XAI_R_STATUS;
    case XAI_REG_PPR_HEAD:      return XAI_R_PPR_HEAD;
    case XAI_REG_PPR_TAIL:      return XAI_R_PPR_TAIL;
    default:                    return -1;
    }
}

/*
 * Extended Feature Register 2: defined, none of its features offered, so
 * it reads 0 like the EFR2 image in the IVHD. Linux (6.0 on) reads it at
 * every boot, which is no guest error.
 */
static bool xai_reg_reads_zero(hwaddr offset)
{
    return (offset & ~7ULL) == XAI_REG_EFR2;
}

static const char *xai_reg_name(int reg, hwaddr offset)
{
    if (reg >= 0) {
        return xai_regs[reg].name;
    }
    return xai_reg_reads_zero(offset) ? "efr2" : "reserved";
}

static inline bool xai_status(XenAmdIommuV2Engine *e, uint64_t bit)
{
    return e->regs[XAI_R_STATUS] & bit;
}

static inline bool xai_control(XenAmdIommuV2Engine *e, uint64_t bit)
{
    return e->regs[XAI_R_CONTROL] & bit;
}

/* Entries in the ring a base register describes; 0 if the length is bad. */
static uint32_t xai_ring_entries(uint64_t base_reg)
{
    unsigned len = (base_reg & XAI_RING_LEN) >> XAI_RING_LEN_SHIFT;

    return len < XAI_RING_LEN_MIN ? 0 : 1u << len;
}

static inline uint32_t xai_ring_ptr(XenAmdIommuV2Engine *e, int reg)
{
    return (e->regs[reg] & XAI_RING_PTR) >> 4;
}

static inline void xai_set_ring_ptr(XenAmdIommuV2Engine *e, int reg,
                                    uint32_t index)
{
    e->regs[reg] = ((uint64_t)index << 4) & XAI_RING_PTR;
}

/*
 * Reach [addr, addr + len) of guest RAM for one access, or nothing. The
 * engine's own memory traffic (commands, logs, stores, table walks) must
 * never reach MMIO: not this device's registers, which would re-enter the
 * engine from inside a command, and not any MMIO from a thread without the
 * BQL (a translation for an iothread), which would take the BQL while it
 * holds the engine's lock. So the lookup that finds RAM is the one the
 * access uses (a MemoryRegionCache holds the host pointer and a reference),
 * and a memory map changing meanwhile cannot turn the access into a
 * dispatch. Returns how many bytes from @addr the cache covers (a range
 * may span RAM blocks, and under Xen a mapping may end at a page), or 0
 * if they are not RAM the engine may access that way.
 */
static hwaddr xai_dma_cache(XenAmdIommuV2Engine *e, MemoryRegionCache *c,
                            hwaddr addr, hwaddr len, bool is_write)
{
    int64_t l;

    if (!len || len > UINT64_MAX - addr) {
        return 0;
    }
    l = address_space_cache_init(c, e->dma_as, addr, len, is_write);
    if (l <= 0 || !c->ptr) {
        address_space_cache_destroy(c);
        return 0;
    }
    return MIN((hwaddr)l, len);
}

/*
 * Under Xen the cache maps guest RAM locked in the map cache, and letting
 * go of it from a coroutine (a block request's completion, translating
 * its DMA) yields, with the engine's lock held. Xen's accesses instead
 * take the host pointer the same lookup found, unlocked, as QEMU's own
 * reads and writes of RAM do; the lookup ends at the page, so the
 * pointer's mapping covers it. No TCG runs with Xen, so dirty marking
 * needs no code invalidation.
 */
static hwaddr xai_dma_xen_ptr(XenAmdIommuV2Engine *e, hwaddr addr,
                              hwaddr len, bool is_write, MemoryRegion **mr,
                              hwaddr *xlat, void **ptr)
{
    hwaddr l = len;

    *mr = address_space_translate(e->dma_as, addr, xlat, &l, is_write,
                                  e->dma_attrs);
    if (!l || !memory_access_is_direct(*mr, is_write, e->dma_attrs)) {
        return 0;
    }
    *ptr = qemu_map_ram_ptr((*mr)->ram_block, *xlat);
    return *ptr ? MIN(l, len) : 0;
}

static bool xai_dma_rw_xen(XenAmdIommuV2Engine *e, hwaddr addr, uint8_t *buf,
                           hwaddr len, bool is_write)
{
    MemoryRegion *mr;
    hwaddr xlat, l;
    void *p;

    if (len > UINT64_MAX - addr) {
        return false;
    }
    RCU_READ_LOCK_GUARD();
    while (len) {
        l = xai_dma_xen_ptr(e, addr, len, is_write, &mr, &xlat, &p);
        if (!l) {
            return false;
        }
        if (is_write) {
            memcpy(p, buf, l);
            memory_region_set_dirty(mr, xlat, l);
        } else {
            memcpy(buf, p, l);
        }
        addr += l;
        buf += l;
        len -= l;
    }
    return true;
}

static bool xai_dma_rw_ram(XenAmdIommuV2Engine *e, hwaddr addr, uint8_t *buf,
                           hwaddr len, bool is_write)
{
    MemoryRegionCache c;
    hwaddr l;

    if (xen_enabled()) {
        return xai_dma_rw_xen(e, addr, buf, len, is_write);
    }
    while (len) {
        l = xai_dma_cache(e, &c, addr, len, is_write);
        if (!l) {
            return false;
        }
        if (is_write) {
            address_space_write_cached(&c, 0, buf, l);
            address_space_cache_invalidate(&c, 0, l);
        } else {
            address_space_read_cached(&c, 0, buf, l);
        }
        address_space_cache_destroy(&c);
        addr += l;
        buf += l;
        len -= l;
    }
    return true;
}

bool xai_dma_rw(XenAmdIommuV2Engine *e, hwaddr addr, void *buf, hwaddr len,
                bool is_write)
{
    if (!xai_dma_rw_ram(e, addr, buf, len, is_write)) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "%s: %s of 0x%" HWADDR_PRIx "+%" HWADDR_PRIu
                      " is not guest RAM\n", TYPE_XEN_AMD_IOMMU_V2,
                      is_write ? "write" : "read", addr, len);
        return false;
    }
    return true;
}

/* xai_dma_set_bits() under Xen: see xai_dma_xen_ptr() */
static XaiDmaUpdate xai_dma_set_bits_xen(XenAmdIommuV2Engine *e, hwaddr addr,
                                         uint64_t *val, uint32_t expected,
                                         uint64_t bits)
{
    MemoryRegion *mr;
    hwaddr xlat;
    uint32_t found;
    void *p;

    RCU_READ_LOCK_GUARD();
    if (xai_dma_xen_ptr(e, addr, sizeof(uint64_t), true, &mr, &xlat, &p) <
        sizeof(uint64_t)) {
        return XAI_DMA_ERROR;
    }
    found = qatomic_cmpxchg((uint32_t *)p, expected,
                            expected | cpu_to_le32((uint32_t)bits));
    if (found != expected) {
        *val = deposit64(ldq_le_p(p), 0, 32, le32_to_cpu(found));
        return XAI_DMA_CHANGED;
    }
    memory_region_set_dirty(mr, xlat, sizeof(uint64_t));
    *val |= bits;
    return XAI_DMA_UPDATED;
}

/*
 * Set @bits, which lie in the low 32 bits, in the little-endian quadword
 * at @addr if it still holds *@val, in one atomic operation: the guest's
 * page tables are shared with its vCPUs, which may change an entry while
 * the IOMMU sets its Accessed and Dirty bits (a plain read-modify-write
 * would undo their change). As a CPU's page walk does, the compare and
 * exchange is on the low doubleword, where the bits are: a 32-bit atomic
 * every host has. On XAI_DMA_CHANGED, *@val holds what the entry holds.
 */
XaiDmaUpdate xai_dma_set_bits(XenAmdIommuV2Engine *e, hwaddr addr,
                              uint64_t *val, uint64_t bits)
{
    uint32_t expected = cpu_to_le32((uint32_t)*val), found;
    MemoryRegionCache c;
    uint32_t *p;
    hwaddr l;

    assert(!(bits >> 32));
    if (addr & (sizeof(uint64_t) - 1)) {
        return XAI_DMA_ERROR;
    }
    if (xen_enabled()) {
        return xai_dma_set_bits_xen(e, addr, val, expected, bits);
    }
    l = xai_dma_cache(e, &c, addr, sizeof(uint64_t), true);
    if (l < sizeof(uint64_t)) {
        if (l) {
            address_space_cache_destroy(&c);    /* split between blocks */
        }
        return XAI_DMA_ERROR;
    }
    p = (uint32_t *)c.ptr;
    found = qatomic_cmpxchg(p, expected,
                            expected | cpu_to_le32((uint32_t)bits));
    if (found != expected) {
        *val = deposit64(ldq_le_p(p), 0, 32, le32_to_cpu(found));
        address_space_cache_destroy(&c);
        return XAI_DMA_CHANGED;
    }
    address_space_cache_invalidate(&c, 0, sizeof(uint64_t));
    address_space_cache_destroy(&c);
    *val |= bits;
    return XAI_DMA_UPDATED;
}

/*
 * MSI is an edge: one is marked pending when a status bit turns on with
 * its enable set, or the enable turns on with the bit already set; not
 * again while the bit stays set (Linux clears it before reading the log:
 * an entry after that sets it again). The transport sends the MSI once it
 * has left the engine's lock (xen_amd_iommu_v2_take_irq()), since an MSI
 * is a write wherever the guest pointed it, which must not happen under
 * the lock.
 */
static void xai_raise_irq(XenAmdIommuV2Engine *e)
{
    trace_xen_amd_iommu_v2_interrupt(e->regs[XAI_R_STATUS]);
    qatomic_set(&e->irq_pending, true);
}

/* Interrupts (3.4.8): a status bit, and an MSI if its enable is set */
static void xai_interrupt(XenAmdIommuV2Engine *e, uint64_t status_bit,
                          uint64_t ctrl_enable)
{
    bool was_set = xai_status(e, status_bit);

    e->regs[XAI_R_STATUS] |= status_bit;
    if (!was_set && xai_control(e, ctrl_enable)) {
        xai_raise_irq(e);
    }
}

/* Each interrupt status bit and the control bit that enables its MSI */
static const struct {
    uint64_t status;
    uint64_t enable;
} xai_irq_sources[] = {
    { XAI_STATUS_EVT_OVERFLOW, XAI_CTRL_EVT_INT_EN },
    { XAI_STATUS_EVT_LOG_INT, XAI_CTRL_EVT_INT_EN },
    { XAI_STATUS_COMWAIT_INT, XAI_CTRL_COMWAIT_INT_EN },
    { XAI_STATUS_PPR_OVERFLOW, XAI_CTRL_PPR_INT_EN },
    { XAI_STATUS_PPR_INT, XAI_CTRL_PPR_INT_EN },
};

/* An MSI for every status bit set whose enable is among @enables */
static void xai_irq_reraise(XenAmdIommuV2Engine *e, uint64_t enables)
{
    int i;

    for (i = 0; i < ARRAY_SIZE(xai_irq_sources); i++) {
        if ((enables & xai_irq_sources[i].enable) &&
            xai_status(e, xai_irq_sources[i].status)) {
            xai_raise_irq(e);
            return;
        }
    }
}

/*
 * An enable turned on while its status bit is set: Linux starts its logs
 * before it sets up their interrupt, and an entry (or an overflow, which
 * stops the log) in between would otherwise never be signalled.
 */
static void xai_irq_enables_written(XenAmdIommuV2Engine *e, uint64_t old)
{
    xai_irq_reraise(e, e->regs[XAI_R_CONTROL] & ~old);
}

/*
 * The function's MSI turned on: an edge raised while it was off was
 * dropped, and nothing would send another while its status bit stays set.
 */
void xen_amd_iommu_v2_irq_resync(XenAmdIommuV2Engine *e)
{
    QEMU_LOCK_GUARD(&e->lock);

    xai_irq_reraise(e, e->regs[XAI_R_CONTROL]);
}

/* An MSI the engine raised and nobody sent yet; it is the caller's now */
bool xen_amd_iommu_v2_take_irq(XenAmdIommuV2Engine *e)
{
    bool pending;

    QEMU_LOCK_GUARD(&e->lock);
    pending = e->irq_pending;
    qatomic_set(&e->irq_pending, false);
    return pending;
}

static void xai_log_stop(XenAmdIommuV2Engine *e, const XaiLog *log)
{
    e->regs[XAI_R_STATUS] &= ~log->run;
}

/*
 * Append one 16-byte entry to a log (2.5, 2.6). A full log sets the
 * overflow status, which interrupts on its own (the log's interrupt
 * status bit is for entries written), and stops the log. Nothing is
 * written while the overflow bit is set, even if software re-enables the
 * log first: the restart sequence clears the bit, then sets the enable.
 */
static bool xai_log_append(XenAmdIommuV2Engine *e, const XaiLog *log,
                           uint64_t q0, uint64_t q1)
{
    uint32_t entries = xai_ring_entries(e->regs[log->base]);
    uint32_t head = xai_ring_ptr(e, log->head);
    uint32_t tail = xai_ring_ptr(e, log->tail);
    uint64_t entry[2] = { cpu_to_le64(q0), cpu_to_le64(q1) };
    hwaddr addr;

    if (!xai_status(e, log->run) || xai_status(e, log->overflow)) {
        e->counters.log_drops++;
        trace_xen_amd_iommu_v2_log_drop(log->name, q0, q1);
        return false;
    }
    if (head >= entries || tail >= entries) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "%s: %s log head %u / tail %u outside its %u entries\n",
                      TYPE_XEN_AMD_IOMMU_V2, log->name, head, tail, entries);
        goto overflow;
    }
    if (((tail + 1) & (entries - 1)) == head) {
        goto overflow;
    }
    addr = (e->regs[log->base] & XAI_BASE_ADDR) + tail * XAI_RING_ENTRY_SIZE;
    if (!xai_dma_rw(e, addr, entry, sizeof(entry), true)) {
        /* The log's memory is gone: stop it rather than lose entries. */
        xai_log_stop(e, log);
        e->counters.log_drops++;
        return false;
    }
    xai_set_ring_ptr(e, log->tail, (tail + 1) & (entries - 1));
    trace_xen_amd_iommu_v2_log_append(log->name, tail, q0, q1);
    xai_interrupt(e, log->intr, log->int_enable);
    return true;

overflow:
    trace_xen_amd_iommu_v2_log_overflow(log->name);
    e->counters.log_drops++;
    xai_log_stop(e, log);
    xai_interrupt(e, log->overflow, log->int_enable);
    return false;
}

/*
 * Hardware errors are also kept in the hardware event registers (3.4.x),
 * where software finds them when the event log is not running: the
 * first one until software clears HEV, HEO for any after it.
 */
static void xai_record_hw_error(XenAmdIommuV2Engine *e, uint64_t q0,
                                uint64_t q1)
{
    if (!(e->efr & XAI_EFR_HE_SUP)) {
        return;
    }
    if (e->regs[XAI_R_HW_EVT_STATUS] & XAI_HW_EVT_STATUS_HEV) {
        e->regs[XAI_R_HW_EVT_STATUS] |= XAI_HW_EVT_STATUS_HEO;
        return;
    }
    e->regs[XAI_R_HW_EVT_HI] = q0;
    e->regs[XAI_R_HW_EVT_LO] = q1;
    e->regs[XAI_R_HW_EVT_STATUS] |= XAI_HW_EVT_STATUS_HEV;
}

void xai_event(XenAmdIommuV2Engine *e, unsigned code, uint64_t q0,
               uint64_t q1)
{
    q0 |= (uint64_t)code << XAI_EVT_CODE_SHIFT;
    if (code == XAI_EVT_DEV_TAB_HW_ERROR || code == XAI_EVT_PAGE_TAB_HW_ERROR ||
        code == XAI_EVT_COMMAND_HW_ERROR) {
        xai_record_hw_error(e, q0, q1);
    }
    if (xai_log_append(e, &xai_event_log, q0, q1)) {
        e->counters.events++;
    }
}

/* Start or stop the command buffer and logs after a control write (3.4.3) */
static bool xai_ring_start(XenAmdIommuV2Engine *e, int base_reg,
                           const char *name)
{
    if (!xai_ring_entries(e->regs[base_reg])) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "%s: %s enabled with a reserved length (%u): "
                      "it stays stopped\n", TYPE_XEN_AMD_IOMMU_V2, name,
                      (unsigned)((e->regs[base_reg] & XAI_RING_LEN) >>
                                 XAI_RING_LEN_SHIFT));
        return false;
    }
    return true;
}

static void xai_update_run(XenAmdIommuV2Engine *e, uint64_t old_ctrl,
                           uint64_t enable, uint64_t run, int base_reg,
                           const char *name)
{
    uint64_t both = XAI_CTRL_IOMMU_EN | enable;
    bool was = (old_ctrl & both) == both;
    bool now = (e->regs[XAI_R_CONTROL] & both) == both;

    if (!now) {
        e->regs[XAI_R_STATUS] &= ~run;
    } else if (!was && xai_ring_start(e, base_reg, name)) {
        e->regs[XAI_R_STATUS] |= run;
    }
}

static void xai_drain_commands(XenAmdIommuV2Engine *e);

static void xai_control_written(XenAmdIommuV2Engine *e, uint64_t old)
{
    /* Turning translation on or off changes every device's view. */
    if ((old ^ e->regs[XAI_R_CONTROL]) &
        (XAI_CTRL_IOMMU_EN | XAI_CTRL_GT_EN | XAI_CTRL_PPR_EN)) {
        xai_iotlb_flush_all(e);
    }
    xai_update_run(e, old, XAI_CTRL_CMD_BUF_EN, XAI_STATUS_CMD_BUF_RUN,
                   XAI_R_CMD_BASE, "command buffer");
    xai_update_run(e, old, XAI_CTRL_EVT_LOG_EN, XAI_STATUS_EVT_LOG_RUN,
                   XAI_R_EVT_BASE, "event log");
    if (e->efr & XAI_EFR_PPR_SUP) {
        xai_update_run(e, old, XAI_CTRL_PPR_LOG_EN, XAI_STATUS_PPR_LOG_RUN,
                       XAI_R_PPR_BASE, "PPR log");
    }
    xai_irq_enables_written(e, old);
    xai_drain_commands(e);
}

/* Commands (2.4): one function each, behind xai_execute() */

static XaiCmdResult xai_cmd_completion_wait(XenAmdIommuV2Engine *e,
                                            const uint64_t cmd[2])
{
    hwaddr store = cmd[0] & XAI_CW_STORE_ADDR;

    if (cmd[0] & XAI_CW_RSVD0) {
        return XAI_CMD_ILLEGAL;
    }
    trace_xen_amd_iommu_v2_completion_wait(!!(cmd[0] & XAI_CW_S),
                                           !!(cmd[0] & XAI_CW_I),
                                           store, cmd[1]);
    /*
     * Commands run to completion in order as they are fetched, so by now
     * every earlier command is done: the store and the interrupt may go.
     */
    if (cmd[0] & XAI_CW_S) {
        uint64_t data = cpu_to_le64(cmd[1]);

        if (!xai_dma_rw(e, store, &data, sizeof(data), true)) {
            e->cmd_error_addr = store;
            return XAI_CMD_HW_ERROR;
        }
    }
    if (cmd[0] & XAI_CW_I) {
        xai_interrupt(e, XAI_STATUS_COMWAIT_INT, XAI_CTRL_COMWAIT_INT_EN);
    }
    return XAI_CMD_DONE;
}

static XaiCmdResult xai_cmd_inv_devtab_entry(XenAmdIommuV2Engine *e,
                                             const uint64_t cmd[2])
{
    if ((cmd[0] & XAI_CMD_DEVID_ONLY_RSVD0) || cmd[1]) {
        return XAI_CMD_ILLEGAL;
    }
    trace_xen_amd_iommu_v2_inv_devtab_entry(cmd[0] & XAI_CMD_DEVID);
    xai_iotlb_flush_devid(e, cmd[0] & XAI_CMD_DEVID);
    return XAI_CMD_DONE;
}

static XaiCmdResult xai_cmd_inv_iommu_pages(XenAmdIommuV2Engine *e,
                                            const uint64_t cmd[2])
{
    bool gn = cmd[1] & XAI_CMD_GN;

    if ((cmd[0] & XAI_IIP_RSVD0) || (cmd[1] & XAI_CMD_ADDR_RSVD)) {
        return XAI_CMD_ILLEGAL;
    }
    if (gn && !(e->efr & XAI_EFR_GT_SUP)) {
        return XAI_CMD_ILLEGAL;
    }
    trace_xen_amd_iommu_v2_inv_iommu_pages(
        extract64(cmd[0], XAI_IIP_DOMID_SHIFT, 16), gn,
        cmd[0] & XAI_IIP_PASID, cmd[1] & XAI_CMD_ADDR,
        !!(cmd[1] & XAI_CMD_S), !!(cmd[1] & XAI_CMD_PDE));
    xai_iotlb_flush_pages(e, extract64(cmd[0], XAI_IIP_DOMID_SHIFT, 16), gn,
                          cmd[0] & XAI_IIP_PASID, cmd[1] & XAI_CMD_ADDR,
                          cmd[1] & XAI_CMD_S);
    return XAI_CMD_DONE;
}

static XaiCmdResult xai_cmd_inv_iotlb_pages(XenAmdIommuV2Engine *e,
                                            const uint64_t cmd[2])
{
    bool gn = cmd[1] & XAI_CMD_GN;
    uint32_t pasid = extract64(cmd[0], XAI_IIOTLB_PASID_HI_SHIFT, 8) << 8 |
                     extract64(cmd[0], XAI_IIOTLB_PASID_LO_SHIFT, 8);

    if (cmd[1] & XAI_IIOTLB_RSVD1) {
        return XAI_CMD_ILLEGAL;
    }
    if (gn && !(e->efr & XAI_EFR_GT_SUP)) {
        return XAI_CMD_ILLEGAL;
    }
    trace_xen_amd_iommu_v2_inv_iotlb_pages(cmd[0] & XAI_CMD_DEVID, gn, pasid,
                                           cmd[1] & XAI_CMD_ADDR,
                                           !!(cmd[1] & XAI_CMD_S));
    return XAI_CMD_DONE;
}

static XaiCmdResult xai_cmd_inv_interrupt_table(XenAmdIommuV2Engine *e,
                                                const uint64_t cmd[2])
{
    if ((cmd[0] & XAI_CMD_DEVID_ONLY_RSVD0) || cmd[1]) {
        return XAI_CMD_ILLEGAL;
    }
    trace_xen_amd_iommu_v2_inv_interrupt_table(cmd[0] & XAI_CMD_DEVID);
    return XAI_CMD_DONE;
}

static XaiCmdResult xai_cmd_prefetch_pages(XenAmdIommuV2Engine *e,
                                           const uint64_t cmd[2])
{
    if (!(e->efr & XAI_EFR_PREF_SUP)) {
        return XAI_CMD_ILLEGAL;
    }
    if ((cmd[0] & XAI_PF_RSVD0) || (cmd[1] & XAI_PF_RSVD1)) {
        return XAI_CMD_ILLEGAL;
    }
    if ((cmd[1] & XAI_CMD_GN) && !(e->efr & XAI_EFR_GT_SUP)) {
        return XAI_CMD_ILLEGAL;
    }
    /*
     * A prefetch is a hint (2.4.6) and nothing is fetched ahead; Inval
     * asks for the pages' cached translations to go first, which software
     * may count on: the device's all go (more is always safe).
     */
    trace_xen_amd_iommu_v2_prefetch_pages(cmd[0] & XAI_CMD_DEVID,
                                          extract64(cmd[0],
                                                    XAI_PF_COUNT_SHIFT, 8),
                                          cmd[1] & XAI_CMD_ADDR);
    if (cmd[1] & XAI_PF_INVAL) {
        xai_iotlb_flush_devid(e, cmd[0] & XAI_CMD_DEVID);
    }
    return XAI_CMD_DONE;
}

static XaiCmdResult xai_cmd_complete_ppr(XenAmdIommuV2Engine *e,
                                         const uint64_t cmd[2])
{
    XenAmdIommuV2PprCompletion c;

    if (!(e->efr & XAI_EFR_PPR_SUP)) {
        return XAI_CMD_ILLEGAL;
    }
    if ((cmd[0] & XAI_CPPR_RSVD0) || (cmd[1] & XAI_CPPR_RSVD1)) {
        return XAI_CMD_ILLEGAL;
    }
    c.devid = cmd[0] & XAI_CMD_DEVID;
    c.pasid_valid = cmd[1] & XAI_CMD_GN;
    c.pasid = c.pasid_valid ? extract64(cmd[0], XAI_CPPR_PASID_SHIFT, 20) : 0;
    c.tag = extract64(cmd[1], XAI_CPPR_TAG_SHIFT, 10);
    c.status = extract64(cmd[1], XAI_CPPR_STATUS_SHIFT, 4);
    trace_xen_amd_iommu_v2_complete_ppr(c.devid, c.pasid_valid, c.pasid,
                                        c.tag, c.status);
    e->counters.ppr_completions++;
    e->last_completion = c;
    e->have_last_completion = true;
    if (e->ops->ppr_complete) {
        e->ops->ppr_complete(e, &c);
    }
    return XAI_CMD_DONE;
}

static XaiCmdResult xai_cmd_inv_iommu_all(XenAmdIommuV2Engine *e,
                                          const uint64_t cmd[2])
{
    if (!(e->efr & XAI_EFR_IA_SUP)) {
        return XAI_CMD_ILLEGAL;
    }
    if ((cmd[0] & XAI_CMD_ALL_RSVD0) || cmd[1]) {
        return XAI_CMD_ILLEGAL;
    }
    trace_xen_amd_iommu_v2_inv_iommu_all();
    xai_iotlb_flush_all(e);
    return XAI_CMD_DONE;
}

typedef XaiCmdResult XaiCmdHandler(XenAmdIommuV2Engine *e,
                                   const uint64_t cmd[2]);

static XaiCmdHandler *const xai_cmd_handlers[XAI_CMD_NR_OPCODES] = {
    [XAI_CMD_COMPLETION_WAIT]      = xai_cmd_completion_wait,
    [XAI_CMD_INV_DEVTAB_ENTRY]     = xai_cmd_inv_devtab_entry,
    [XAI_CMD_INV_IOMMU_PAGES]      = xai_cmd_inv_iommu_pages,
    [XAI_CMD_INV_IOTLB_PAGES]      = xai_cmd_inv_iotlb_pages,
    [XAI_CMD_INV_INTERRUPT_TABLE]  = xai_cmd_inv_interrupt_table,
    [XAI_CMD_PREFETCH_IOMMU_PAGES] = xai_cmd_prefetch_pages,
    [XAI_CMD_COMPLETE_PPR_REQUEST] = xai_cmd_complete_ppr,
    [XAI_CMD_INV_IOMMU_ALL]        = xai_cmd_inv_iommu_all,
};

static XaiCmdResult xai_execute(XenAmdIommuV2Engine *e, const uint64_t cmd[2])
{
    unsigned opcode = cmd[0] >> XAI_CMD_OPCODE_SHIFT;
    XaiCmdHandler *handler = xai_cmd_handlers[opcode];
    XaiCmdResult r;

    if (!handler) {
        return XAI_CMD_ILLEGAL;
    }
    r = handler(e, cmd);
    if (r == XAI_CMD_DONE) {
        e->counters.commands[opcode]++;
    }
    return r;
}

/*
 * The buffer stops at a failing command (2.4): head keeps pointing at it,
 * CmdBufRun clears, and software restarts by toggling CmdBufEn.
 */
static void xai_command_failed(XenAmdIommuV2Engine *e, XaiCmdResult r,
                               hwaddr addr, const uint64_t cmd[2])
{
    e->regs[XAI_R_STATUS] &= ~XAI_STATUS_CMD_BUF_RUN;
    if (r == XAI_CMD_ILLEGAL) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "%s: illegal command %016" PRIx64 " %016" PRIx64
                      " at 0x%" HWADDR_PRIx "\n", TYPE_XEN_AMD_IOMMU_V2,
                      cmd[0], cmd[1], addr);
        e->counters.illegal_commands++;
        trace_xen_amd_iommu_v2_illegal_command(addr, cmd[0], cmd[1]);
        xai_event(e, XAI_EVT_ILLEGAL_COMMAND, 0, addr);
    } else {
        /* The access that failed: the store, or the command's fetch */
        if (e->cmd_error_addr != -1) {
            addr = e->cmd_error_addr;
        }
        trace_xen_amd_iommu_v2_command_hw_error(addr);
        xai_event(e, XAI_EVT_COMMAND_HW_ERROR,
                  (uint64_t)XAI_EVT_HW_MASTER_ABORT << XAI_EVT_FLAGS_SHIFT,
                  addr);
    }
}

/*
 * Commands are fetched in bursts, as hardware prefetches them: software
 * may not touch the entries between head and tail (2.4), so reading ahead
 * is safe, and one RAM check and copy serve a whole burst.
 */
#define XAI_CMD_BURST 64

static uint32_t xai_fetch_commands(XenAmdIommuV2Engine *e, uint32_t head,
                                   uint32_t tail, uint32_t entries,
                                   uint64_t (*burst)[2])
{
    hwaddr base = e->regs[XAI_R_CMD_BASE] & XAI_BASE_ADDR;
    hwaddr addr = base + (hwaddr)head * XAI_RING_ENTRY_SIZE;
    uint32_t n = tail > head ? tail - head : entries - head;
    uint32_t i;

    n = MIN(n, XAI_CMD_BURST);
    /*
     * An entry that is not RAM fails the whole burst: fetch one entry
     * then, so that the commands before it run and the error names it.
     */
    if (!xai_dma_rw_ram(e, addr, (uint8_t *)burst, n * XAI_RING_ENTRY_SIZE,
                        false)) {
        n = 1;
        if (!xai_dma_rw(e, addr, burst, XAI_RING_ENTRY_SIZE, false)) {
            return 0;
        }
    }
    for (i = 0; i < n; i++) {
        burst[i][0] = le64_to_cpu(burst[i][0]);
        burst[i][1] = le64_to_cpu(burst[i][1]);
    }
    return n;
}

/*
 * Run the commands between head and tail. One call drains at most one
 * ring's worth, whatever the guest does to the tail meanwhile.
 */
static void xai_drain_commands(XenAmdIommuV2Engine *e)
{
    uint32_t entries = xai_ring_entries(e->regs[XAI_R_CMD_BASE]);
    hwaddr base = e->regs[XAI_R_CMD_BASE] & XAI_BASE_ADDR;
    uint32_t head = xai_ring_ptr(e, XAI_R_CMD_HEAD);
    uint64_t burst[XAI_CMD_BURST][2];
    uint32_t fetched = 0, next = 0;
    uint32_t n;

    if (!xai_status(e, XAI_STATUS_CMD_BUF_RUN) || e->draining) {
        return;
    }
    e->draining = true;
    for (n = 0; n < entries; n++) {
        uint32_t tail = xai_ring_ptr(e, XAI_R_CMD_TAIL);
        hwaddr addr = base + (hwaddr)head * XAI_RING_ENTRY_SIZE;
        const uint64_t *cmd;
        XaiCmdResult r;

        if (head == tail) {
            break;
        }
        if (head >= entries || tail >= entries) {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "%s: command head %u / tail %u outside the "
                          "buffer's %u entries: stopped\n",
                          TYPE_XEN_AMD_IOMMU_V2, head, tail, entries);
            e->cmd_error_addr = -1;
            xai_command_failed(e, XAI_CMD_HW_ERROR, addr, NULL);
            break;
        }
        if (next == fetched) {
            fetched = xai_fetch_commands(e, head, tail, entries, burst);
            next = 0;
            if (!fetched) {
                e->cmd_error_addr = -1;
                xai_command_failed(e, XAI_CMD_HW_ERROR, addr, NULL);
                break;
            }
        }
        cmd = burst[next++];
        e->cmd_error_addr = -1;
        trace_xen_amd_iommu_v2_command(head, cmd[0] >> XAI_CMD_OPCODE_SHIFT,
                                       cmd[0], cmd[1]);
        r = xai_execute(e, cmd);
        if (r != XAI_CMD_DONE) {
            xai_command_failed(e, r, addr, cmd);
            break;
        }
        head = (head + 1) & (entries - 1);
        xai_set_ring_ptr(e, XAI_R_CMD_HEAD, head);
    }
    e->draining = false;
}

/*
 * Registers whose writes have effects beyond storage. Called after the
 * generic masked store; @old is the value before it.
 */
static void xai_reg_written(XenAmdIommuV2Engine *e, int reg, uint64_t old)
{
    static const struct {
        int reg;
        uint64_t run;       /* the register is frozen while this runs */
    } frozen[] = {
        { XAI_R_CMD_BASE, XAI_STATUS_CMD_BUF_RUN },
        { XAI_R_CMD_HEAD, XAI_STATUS_CMD_BUF_RUN },
    };
    int i;

    /*
     * The consumer side of the running command buffer belongs to the
     * IOMMU (3.4): its base and head stay as they are while it runs. The
     * logs' base and tail do not: Linux reprograms a log that still runs
     * (after kexec or hibernation 6.1 leaves PPRLogEn set; kdump keeps
     * the PPR log running) and counts on its writes, and every append
     * reads and checks base, head and tail afresh.
     */
    for (i = 0; i < ARRAY_SIZE(frozen); i++) {
        if (frozen[i].reg == reg && xai_status(e, frozen[i].run) &&
            e->regs[reg] != old) {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "%s: %s written while its ring runs: ignored\n",
                          TYPE_XEN_AMD_IOMMU_V2, xai_regs[reg].name);
            e->regs[reg] = old;
            return;
        }
    }

    switch (reg) {
    case XAI_R_CONTROL:
        xai_control_written(e, old);
        break;
    case XAI_R_DEVTAB_BASE:
        if (e->regs[reg] != old) {
            xai_iotlb_flush_all(e);
        }
        break;
    case XAI_R_CMD_TAIL:
        xai_drain_commands(e);
        break;
    case XAI_R_EVT_HEAD:
        /* The driver consumed the log: the next fault is a new one */
        xai_fault_run_end(e);
        break;
    default:
        break;
    }
}

uint64_t xen_amd_iommu_v2_engine_read(XenAmdIommuV2Engine *e, hwaddr addr,
                                      unsigned size)
{
    QEMU_LOCK_GUARD(&e->lock);
    int reg = xai_reg_index(addr & ~7ULL);
    unsigned shift = (addr & 7) * 8;
    uint64_t val = 0;

    e->counters.register_accesses++;
    if (reg >= 0) {
        val = extract64(e->regs[reg], shift, size * 8);
    } else if (!xai_reg_reads_zero(addr)) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: read of reserved register "
                      "0x%" HWADDR_PRIx "\n", TYPE_XEN_AMD_IOMMU_V2, addr);
    }
    trace_xen_amd_iommu_v2_reg_read(xai_reg_name(reg, addr), addr, size, val);
    return val;
}

void xen_amd_iommu_v2_engine_write(XenAmdIommuV2Engine *e, hwaddr addr,
                                   uint64_t val, unsigned size)
{
    QEMU_LOCK_GUARD(&e->lock);
    int reg = xai_reg_index(addr & ~7ULL);
    unsigned shift = (addr & 7) * 8;
    uint64_t mask = MAKE_64BIT_MASK(shift, size * 8);
    uint64_t data = val << shift;
    uint64_t old, rw, wc;

    e->counters.register_accesses++;
    trace_xen_amd_iommu_v2_reg_write(xai_reg_name(reg, addr), addr, size, val);
    if (reg < 0 && xai_reg_reads_zero(addr)) {
        return;     /* read-only, as writes to the EFR are */
    }
    if (reg < 0) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: write of reserved register "
                      "0x%" HWADDR_PRIx "\n", TYPE_XEN_AMD_IOMMU_V2, addr);
        return;
    }
    old = e->regs[reg];
    rw = e->regs_rw[reg] & mask;
    wc = e->regs_wc[reg] & mask;
    e->regs[reg] = ((old & ~rw) | (data & rw)) & ~(data & wc);
    xai_reg_written(e, reg, old);
}

static uint64_t xai_build_efr(const XenAmdIommuV2Features *f)
{
    uint64_t efr = 0;

    efr |= f->prefetch ? XAI_EFR_PREF_SUP : 0;
    efr |= f->ppr ? XAI_EFR_PPR_SUP : 0;
    efr |= f->gt ? XAI_EFR_GT_SUP : 0;
    efr |= f->ia ? XAI_EFR_IA_SUP : 0;
    efr |= f->he ? XAI_EFR_HE_SUP : 0;
    efr |= f->gio ? XAI_EFR_GIO_SUP : 0;
    efr |= f->eph ? XAI_EFR_EPH_SUP : 0;
    efr |= (uint64_t)(f->host_levels - 4) << XAI_EFR_HATS_SHIFT;
    if (f->gt) {
        efr |= (uint64_t)(f->guest_levels - 4) << XAI_EFR_GATS_SHIFT;
        efr |= (uint64_t)(f->gcr3_levels - 1) << XAI_EFR_GLX_SHIFT;
    }
    if (f->gt || f->ppr) {
        efr |= (uint64_t)(f->pasid_bits - 1) << XAI_EFR_PASMAX_SHIFT;
    }
    return efr;
}

/*
 * The address sizes of the capability's Miscellaneous Information 0 and
 * the IVRS's IVinfo (same layout): guest virtual (GVAsize 010b: 48 bits,
 * 011b: 57), system physical (what the tables hold: 52 bits) and DMA
 * virtual (what the host tables' levels map).
 */
uint32_t xen_amd_iommu_v2_address_sizes(const XenAmdIommuV2Features *f)
{
    uint32_t gva = f->guest_levels == 5 ? XAI_SIZES_GVA_57 : XAI_SIZES_GVA_48;
    uint32_t va = MIN(12 + 9 * f->host_levels, 64);

    return gva << XAI_SIZES_GVA_SHIFT | 52u << XAI_SIZES_PA_SHIFT |
           va << XAI_SIZES_VA_SHIFT;
}

/* Which bits software may write, per register, for the features offered */
static void xai_build_masks(XenAmdIommuV2Engine *e)
{
    uint64_t ring_base = XAI_BASE_ADDR | XAI_RING_LEN;
    uint64_t ctrl = XAI_CTRL_IOMMU_EN | XAI_CTRL_HT_TUN_EN |
                    XAI_CTRL_EVT_LOG_EN | XAI_CTRL_EVT_INT_EN |
                    XAI_CTRL_COMWAIT_INT_EN | XAI_CTRL_INV_TIMEOUT |
                    XAI_CTRL_PASS_PW | XAI_CTRL_RES_PASS_PW |
                    XAI_CTRL_COHERENT | XAI_CTRL_ISOC | XAI_CTRL_CMD_BUF_EN;
    uint64_t status_wc = XAI_STATUS_EVT_OVERFLOW | XAI_STATUS_EVT_LOG_INT |
                         XAI_STATUS_COMWAIT_INT;
    bool ppr = e->efr & XAI_EFR_PPR_SUP;

    if (ppr) {
        ctrl |= XAI_CTRL_PPR_LOG_EN | XAI_CTRL_PPR_INT_EN | XAI_CTRL_PPR_EN;
        status_wc |= XAI_STATUS_PPR_OVERFLOW | XAI_STATUS_PPR_INT;
    }
    if (e->efr & XAI_EFR_GT_SUP) {
        ctrl |= XAI_CTRL_GT_EN;
    }
    if (e->efr & XAI_EFR_EPH_SUP) {
        ctrl |= XAI_CTRL_EPH_EN;
    }

    memset(e->regs_rw, 0, sizeof(e->regs_rw));
    memset(e->regs_wc, 0, sizeof(e->regs_wc));
    e->regs_rw[XAI_R_DEVTAB_BASE] = XAI_BASE_ADDR | XAI_DEVTAB_SIZE;
    e->regs_rw[XAI_R_CMD_BASE] = ring_base;
    e->regs_rw[XAI_R_EVT_BASE] = ring_base;
    e->regs_rw[XAI_R_CONTROL] = ctrl;
    e->regs_rw[XAI_R_EXCL_BASE] = XAI_BASE_ADDR | XAI_EXCL_ENABLE |
                                  XAI_EXCL_ALLOW;
    e->regs_rw[XAI_R_EXCL_LIMIT] = XAI_BASE_ADDR;
    e->regs_rw[XAI_R_PPR_BASE] = ppr ? ring_base : 0;
    if (e->efr & XAI_EFR_HE_SUP) {
        e->regs_rw[XAI_R_HW_EVT_HI] = UINT64_MAX;
        e->regs_rw[XAI_R_HW_EVT_LO] = UINT64_MAX;
        e->regs_wc[XAI_R_HW_EVT_STATUS] = XAI_HW_EVT_STATUS_HEV |
                                          XAI_HW_EVT_STATUS_HEO;
    }
    e->regs_rw[XAI_R_CMD_HEAD] = XAI_RING_PTR;
    e->regs_rw[XAI_R_CMD_TAIL] = XAI_RING_PTR;
    e->regs_rw[XAI_R_EVT_HEAD] = XAI_RING_PTR;
    e->regs_rw[XAI_R_EVT_TAIL] = XAI_RING_PTR;
    e->regs_wc[XAI_R_STATUS] = status_wc;
    e->regs_rw[XAI_R_PPR_HEAD] = ppr ? XAI_RING_PTR : 0;
    e->regs_rw[XAI_R_PPR_TAIL] = ppr ? XAI_RING_PTR : 0;
}

void xen_amd_iommu_v2_engine_init(XenAmdIommuV2Engine *e,
                                  const XenAmdIommuV2Features *f,
                                  AddressSpace *dma_as, MemTxAttrs attrs,
                                  const XenAmdIommuV2EngineOps *ops,
                                  void *opaque)
{
    e->efr = xai_build_efr(f);
    e->dma_as = dma_as;
    e->dma_attrs = attrs;
    e->ops = ops;
    e->opaque = opaque;
    xai_build_masks(e);
    qemu_rec_mutex_init(&e->lock);
    xai_iotlb_init(e);
    xen_amd_iommu_v2_engine_reset(e);
}

void xen_amd_iommu_v2_engine_exit(XenAmdIommuV2Engine *e)
{
    xai_iotlb_destroy(e);
    qemu_rec_mutex_destroy(&e->lock);
}

void xen_amd_iommu_v2_engine_reset(XenAmdIommuV2Engine *e)
{
    QEMU_LOCK_GUARD(&e->lock);
    memset(e->regs, 0, sizeof(e->regs));
    e->regs[XAI_R_EFR] = e->efr;
    e->draining = false;
    qatomic_set(&e->irq_pending, false);
    xai_iotlb_flush_all(e);
}

/*
 * An incoming stream is as hostile as a guest: a ring marked running with
 * a reserved length must not run.
 */
bool xen_amd_iommu_v2_engine_post_load(XenAmdIommuV2Engine *e)
{
    QEMU_LOCK_GUARD(&e->lock);
    static const struct {
        int base;
        uint64_t enable, run;
    } rings[] = {
        { XAI_R_CMD_BASE, XAI_CTRL_CMD_BUF_EN, XAI_STATUS_CMD_BUF_RUN },
        { XAI_R_EVT_BASE, XAI_CTRL_EVT_LOG_EN, XAI_STATUS_EVT_LOG_RUN },
        { XAI_R_PPR_BASE, XAI_CTRL_PPR_LOG_EN, XAI_STATUS_PPR_LOG_RUN },
    };
    uint64_t ctrl = e->regs[XAI_R_CONTROL];
    int i, reg;

    if (e->regs[XAI_R_EFR] != e->efr) {
        return false;       /* the two sides were configured differently */
    }
    for (reg = 0; reg < XAI_R_COUNT; reg++) {
        if (reg != XAI_R_EFR && reg != XAI_R_STATUS &&
            (e->regs[reg] & ~(e->regs_rw[reg] | e->regs_wc[reg]))) {
            return false;
        }
    }
    if (e->regs[XAI_R_STATUS] & ~(e->regs_wc[XAI_R_STATUS] |
                                  XAI_STATUS_RUN)) {
        return false;
    }
    /*
     * A ring runs only while enabled (xai_update_run): a stream that says
     * otherwise would have commands run on a buffer the guest turned off.
     */
    for (i = 0; i < ARRAY_SIZE(rings); i++) {
        if ((e->regs[XAI_R_STATUS] & rings[i].run) &&
            (!(ctrl & XAI_CTRL_IOMMU_EN) || !(ctrl & rings[i].enable))) {
            return false;
        }
        /*
         * A running command buffer cannot get a reserved length (its base
         * is frozen): from a stream, stop it. A log can (the guest may
         * rewrite a running log's base); its next entry stops it with
         * overflow, as on the source.
         */
        if (rings[i].base == XAI_R_CMD_BASE &&
            !xai_ring_entries(e->regs[rings[i].base])) {
            e->regs[XAI_R_STATUS] &= ~rings[i].run;
        }
    }
    e->draining = false;
    xai_iotlb_flush_all(e);
    return true;
}

/* The PPR log entry (2.6.1) for a page request this IOMMU can take */
bool xen_amd_iommu_v2_ppr_encode(const XenAmdIommuV2Engine *e,
                                 const XenAmdIommuV2PprRequest *req,
                                 uint64_t entry[2], Error **errp)
{
    unsigned pasid_bits = ((e->efr >> XAI_EFR_PASMAX_SHIFT) & 0x1f) + 1;
    uint16_t flags = req->flags & XAI_PPR_FLAGS_MASK & ~XAI_PPR_FLAG_GN;

    if (!(e->efr & XAI_EFR_PPR_SUP)) {
        error_setg(errp, "this IOMMU does not offer PPR (ppr=off)");
        return false;
    }
    if (req->pasid_valid && req->pasid >= (1u << pasid_bits)) {
        error_setg(errp, "PASID 0x%x is wider than the %u bits offered",
                   req->pasid, pasid_bits);
        return false;
    }
    if (req->tag > XAI_PPR_TAG_MASK) {
        error_setg(errp, "tag 0x%x does not fit in 10 bits", req->tag);
        return false;
    }
    if (req->flags & ~XAI_PPR_FLAGS_MASK) {
        error_setg(errp, "flags 0x%x do not fit in 12 bits", req->flags);
        return false;
    }
    if (req->pasid_valid) {
        flags |= XAI_PPR_FLAG_GN;
    }
    entry[0] = req->devid |
               (uint64_t)(req->pasid & 0xffff) << XAI_PPR_PASID_LO_SHIFT |
               (uint64_t)req->tag << XAI_PPR_TAG_SHIFT |
               (uint64_t)(req->pasid >> 16) << XAI_PPR_PASID_HI_SHIFT |
               (uint64_t)flags << XAI_PPR_FLAGS_SHIFT |
               (uint64_t)XAI_PPR_TYPE_REQUEST << XAI_PPR_TYPE_SHIFT;
    entry[1] = req->address & XAI_PPR_ADDR;
    trace_xen_amd_iommu_v2_ppr_request(req->devid, req->pasid_valid,
                                       req->pasid, req->tag, flags, entry[1]);
    return true;
}

bool xen_amd_iommu_v2_ppr_request(XenAmdIommuV2Engine *e,
                                  const XenAmdIommuV2PprRequest *req,
                                  Error **errp)
{
    QEMU_LOCK_GUARD(&e->lock);
    uint64_t entry[2];

    if (!xen_amd_iommu_v2_ppr_encode(e, req, entry, errp)) {
        return false;
    }
    if (!xai_control(e, XAI_CTRL_PPR_EN)) {
        error_setg(errp, "the guest has not enabled PPR (PPREn=0)");
        return false;
    }
    if (!xai_status(e, XAI_STATUS_PPR_LOG_RUN)) {
        e->counters.log_drops++;
        error_setg(errp, "the PPR log is not running");
        return false;
    }
    if (!xai_log_append(e, &xai_ppr_log, entry[0], entry[1])) {
        error_setg(errp, "the PPR log %s",
                   xai_status(e, XAI_STATUS_PPR_OVERFLOW) ?
                   "overflowed" : "could not be written");
        return false;
    }
    e->counters.ppr_requests++;
    return true;
}

static bool xai_irq_pending_needed(void *opaque)
{
    XenAmdIommuV2Engine *e = opaque;

    return e->irq_pending;
}

/*
 * An MSI raised by an iothread's translation waits for a bottom half,
 * which may not run before the machine stops to migrate: it goes along.
 */
static const VMStateDescription vmstate_xai_irq_pending = {
    .name = "xen-amd-iommu-v2-engine/irq-pending",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = xai_irq_pending_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_BOOL(irq_pending, XenAmdIommuV2Engine),
        VMSTATE_END_OF_LIST()
    }
};

const VMStateDescription vmstate_xen_amd_iommu_v2_engine = {
    .name = "xen-amd-iommu-v2-engine",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64_ARRAY(regs, XenAmdIommuV2Engine, XAI_R_COUNT),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription * const []) {
        &vmstate_xai_irq_pending,
        NULL
    }
};
