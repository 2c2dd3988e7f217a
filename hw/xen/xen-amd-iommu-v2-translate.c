/*
 * xen-amd-iommu-v2 engine: address translation and the IOTLB
 *
 * A request (device ID, optional PASID, address, access) is looked up in
 * the IOTLB, else translated from the device table (2.2.2): host page
 * tables (2.2.3) for requests without a PASID, and for requests with one
 * the guest's x86-64 tables found through the GCR3 table (2.2.6), each
 * guest table access and the final guest-physical address translated by
 * the host tables in turn (nested). Faults become IO_PAGE_FAULT events
 * unless the device table entry suppresses them.
 *
 * Every table access is a read of guest RAM through xai_dma_rw(), every
 * walk is bounded by its level count, and the IOTLB by XAI_IOTLB_MAX.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/lockable.h"
#include "qemu/log.h"
#include "hw/xen/xen-amd-iommu-v2.h"
#include "xen-amd-iommu-v2-bits.h"
#include "xen-amd-iommu-v2-internal.h"
#include "trace.h"

/* Enough for a guest's working set; a full IOTLB starts over. */
#define XAI_IOTLB_MAX   8192
#define XAI_NO_PASID    UINT32_MAX

typedef struct XaiIotlbEntry {
    /* key */
    uint16_t devid;
    uint32_t pasid;
    uint64_t page;          /* 4 KiB page of the request address */
    bool user;              /* PASID request with user privilege */
    /* value */
    uint16_t domid;
    hwaddr addr;
    hwaddr page_mask;
    bool read, write;
    bool guest;             /* from the guest's tables (PASID or GIOV) */
} XaiIotlbEntry;

typedef struct XaiWalk {
    uint64_t dte[4];
    uint16_t devid;
    uint16_t domid;
    uint32_t pasid;
    bool pasid_valid;
    bool guest;             /* walking the guest's tables */
    bool untagged_gio;      /* an untagged request on PASID 0's tables */
    bool walked;            /* page tables were read (counted) */
    bool host_stage;        /* a guest walk failed in the host tables */
    hwaddr fault_gpa;       /* ... at this guest-physical address */
    uint16_t flags;         /* event flags gathered on the way */
    hwaddr error_addr;      /* the table entry a hardware error hit */
} XaiWalk;

typedef enum XaiFault {
    XAI_OK,
    XAI_PAGE_FAULT,         /* IO_PAGE_FAULT */
    XAI_BAD_DTE,            /* ILLEGAL_DEV_TABLE_ENTRY */
    XAI_DTE_HW_ERROR,       /* DEV_TAB_HARDWARE_ERROR */
    XAI_PT_HW_ERROR,        /* PAGE_TAB_HARDWARE_ERROR */
    XAI_INVALID_REQUEST,    /* INVALID_DEVICE_REQUEST */
} XaiFault;

static guint xai_iotlb_hash(gconstpointer v)
{
    const XaiIotlbEntry *k = v;

    return (guint)(k->page ^ (k->page >> 32) ^ ((uint64_t)k->devid << 20) ^
                   k->pasid ^ ((uint64_t)k->user << 31));
}

static gboolean xai_iotlb_equal(gconstpointer a, gconstpointer b)
{
    const XaiIotlbEntry *x = a, *y = b;

    return x->page == y->page && x->devid == y->devid &&
           x->pasid == y->pasid && x->user == y->user;
}

void xai_iotlb_init(XenAmdIommuV2Engine *e)
{
    e->iotlb = g_hash_table_new_full(xai_iotlb_hash, xai_iotlb_equal,
                                     g_free, NULL);
}

void xai_iotlb_destroy(XenAmdIommuV2Engine *e)
{
    g_hash_table_destroy(e->iotlb);
    e->iotlb = NULL;
}

static void xai_invalidated(XenAmdIommuV2Engine *e, int devid)
{
    if (e->ops->invalidated) {
        e->ops->invalidated(e, devid);
    }
}

void xai_fault_run_end(XenAmdIommuV2Engine *e)
{
    e->last_fault.valid = false;
}

void xai_iotlb_flush_all(XenAmdIommuV2Engine *e)
{
    xai_fault_run_end(e);
    g_hash_table_remove_all(e->iotlb);
    trace_xen_amd_iommu_v2_iotlb_flush(-1, 0, 0, 0);
    xai_invalidated(e, -1);
}

static gboolean xai_iotlb_match_devid(gpointer key, gpointer value,
                                      gpointer opaque)
{
    const XaiIotlbEntry *k = key;

    return k->devid == *(uint16_t *)opaque;
}

void xai_iotlb_flush_devid(XenAmdIommuV2Engine *e, uint16_t devid)
{
    xai_fault_run_end(e);
    g_hash_table_foreach_remove(e->iotlb, xai_iotlb_match_devid, &devid);
    trace_xen_amd_iommu_v2_iotlb_flush(devid, 0, 0, 0);
    xai_invalidated(e, devid);
}

typedef struct XaiPageRange {
    uint16_t domid;
    bool gn;
    uint32_t pasid;
    uint64_t first, last;   /* inclusive, in bytes */
} XaiPageRange;

/*
 * GN=1 names guest-virtual pages of one PASID; untagged requests of a
 * device with guest I/O protection (GIOV) are PASID 0's, as Linux's v2
 * DMA tables expect. GN=0 names guest-physical pages of the domain: a
 * translation from the guest's tables went through the host tables at
 * addresses of its own (every table it read), so all of those go.
 */
static gboolean xai_iotlb_match_range(gpointer key, gpointer value,
                                      gpointer opaque)
{
    const XaiIotlbEntry *k = key;
    const XaiPageRange *r = opaque;
    uint64_t addr = k->page << 12;
    bool in_range = addr >= r->first && addr <= r->last;

    if (k->domid != r->domid) {
        return false;
    }
    if (r->gn) {
        return in_range && k->guest &&
               (k->pasid == r->pasid ||
                (r->pasid == 0 && k->pasid == XAI_NO_PASID));
    }
    return k->guest || in_range;
}

/*
 * INVALIDATE_IOMMU_PAGES (2.4.3): with S=1 the lowest clear bit of the
 * address above bit 12 gives the range: all lower address bits are set,
 * so 0x7ffffffffffff000 means every page.
 */
void xai_iotlb_flush_pages(XenAmdIommuV2Engine *e, uint16_t domid,
                           bool gn, uint32_t pasid, uint64_t addr, bool s)
{
    XaiPageRange r = {
        .domid = domid,
        .gn = gn,
        .pasid = gn ? pasid : XAI_NO_PASID,
    };

    xai_fault_run_end(e);
    addr &= ~0xfffULL;
    if (s) {
        uint64_t ones = ~(addr | 0xfffULL) ? ctz64(~(addr | 0xfffULL)) : 64;
        uint64_t size = ones >= 63 ? 0 : 1ULL << (ones + 1);

        r.first = size ? addr & ~(size - 1) : 0;
        r.last = size ? r.first + size - 1 : UINT64_MAX;
    } else {
        r.first = addr;
        r.last = addr + 0xfff;
    }
    g_hash_table_foreach_remove(e->iotlb, xai_iotlb_match_range, &r);
    trace_xen_amd_iommu_v2_iotlb_flush(domid, r.pasid, r.first, r.last);
    /* Domains map to devices through the device table: tell them all. */
    xai_invalidated(e, -1);
}

/*
 * A translation is cached per privilege: a supervisor request may reach
 * pages that a user request to the same address may not.
 */
static XaiIotlbEntry *xai_iotlb_lookup(XenAmdIommuV2Engine *e,
                                       const XenAmdIommuV2Request *req)
{
    XaiIotlbEntry key = {
        .devid = req->devid,
        .pasid = req->pasid_valid ? req->pasid : XAI_NO_PASID,
        .page = req->addr >> 12,
        .user = req->pasid_valid && req->is_user,
    };

    return g_hash_table_lookup(e->iotlb, &key);
}

static void xai_iotlb_insert(XenAmdIommuV2Engine *e,
                             const XenAmdIommuV2Request *req,
                             const XaiWalk *w,
                             const XenAmdIommuV2Translation *t)
{
    XaiIotlbEntry *entry = g_new(XaiIotlbEntry, 1);

    if (g_hash_table_size(e->iotlb) >= XAI_IOTLB_MAX) {
        g_hash_table_remove_all(e->iotlb);
    }
    *entry = (XaiIotlbEntry) {
        .devid = req->devid,
        .pasid = req->pasid_valid ? req->pasid : XAI_NO_PASID,
        .page = req->addr >> 12,
        .user = req->pasid_valid && req->is_user,
        .domid = w->domid,
        .guest = w->guest,
        .addr = t->addr,
        .page_mask = t->page_mask,
        .read = t->read,
        .write = t->write,
    };
    g_hash_table_replace(e->iotlb, entry, entry);
}

static bool xai_read_u64(XenAmdIommuV2Engine *e, hwaddr addr, uint64_t *val)
{
    if (!xai_dma_rw(e, addr, val, sizeof(*val), false)) {
        return false;
    }
    *val = le64_to_cpu(*val);
    return true;
}

static XaiFault xai_read_dte(XenAmdIommuV2Engine *e, XaiWalk *w)
{
    uint64_t base = e->regs[XAI_R_DEVTAB_BASE];
    uint64_t entries = (((base & XAI_DEVTAB_SIZE) + 1) << 12) / XAI_DTE_SIZE;
    hwaddr addr = (base & XAI_BASE_ADDR) + (hwaddr)w->devid * XAI_DTE_SIZE;
    int i;

    if (w->devid >= entries) {
        return XAI_BAD_DTE;
    }
    if (!xai_dma_rw(e, addr, w->dte, sizeof(w->dte), false)) {
        w->error_addr = addr;
        return XAI_DTE_HW_ERROR;
    }
    for (i = 0; i < 4; i++) {
        w->dte[i] = le64_to_cpu(w->dte[i]);
    }
    w->domid = w->dte[1] & XAI_DTE1_DOMID;
    return XAI_OK;
}

/*
 * No page table (Mode 0, or no translation information: TV clear): the
 * address is not translated and the entry's IR and IW decide. Linux's
 * blocked domain is an entry with V alone; its identity domain under SNP
 * is V, IR and IW without TV.
 */
static XaiFault xai_untranslated(XaiWalk *w, hwaddr iova, bool is_write,
                                 XenAmdIommuV2Translation *t)
{
    t->addr = iova & ~0xfffULL;
    t->page_mask = 0xfff;
    t->read = w->dte[0] & XAI_DTE_IR;
    t->write = w->dte[0] & XAI_DTE_IW;
    if (!(is_write ? t->write : t->read)) {
        w->flags |= XAI_EVT_F_PR | XAI_EVT_F_PE;
        return XAI_PAGE_FAULT;
    }
    return XAI_OK;
}

/*
 * Host (v1) page walk (2.2.3): from DTE.Mode levels down, following each
 * PTE's next-level field, which may skip levels (the skipped index bits
 * must then be zero) or end the walk early with a large page. A next
 * level of 7 encodes the page size in the address bits.
 */
static XaiFault xai_host_walk(XenAmdIommuV2Engine *e, XaiWalk *w, hwaddr iova,
                              bool is_write, XenAmdIommuV2Translation *t)
{
    unsigned level = (w->dte[0] >> XAI_DTE_MODE_SHIFT) & 7;
    uint64_t table = w->dte[0] & XAI_DTE_PT_ROOT;
    bool read = w->dte[0] & XAI_DTE_IR;
    bool write = w->dte[0] & XAI_DTE_IW;
    unsigned max_levels = ((e->efr >> XAI_EFR_HATS_SHIFT) & 3) + 4;
    int steps;

    if (level == 0) {
        return xai_untranslated(w, iova, is_write, t);
    }
    if (level > max_levels) {
        return XAI_BAD_DTE;
    }
    w->walked = true;
    if (level < 6 && (iova >> (12 + 9 * level))) {
        return XAI_PAGE_FAULT;      /* beyond what the tables can map */
    }
    for (steps = 0; steps < 6; steps++) {
        unsigned shift = 12 + 9 * (level - 1);
        uint64_t pte, size;
        unsigned next;

        hwaddr at = table + ((iova >> shift) & 0x1ff) * 8;

        if (!xai_read_u64(e, at, &pte)) {
            w->error_addr = at;
            return XAI_PT_HW_ERROR;
        }
        if (!(pte & XAI_PTE_PR)) {
            return XAI_PAGE_FAULT;
        }
        read &= !!(pte & XAI_PTE_IR);
        write &= !!(pte & XAI_PTE_IW);
        next = (pte >> XAI_PTE_NEXT_SHIFT) & 7;
        if (next == 0 || next == XAI_PTE_NEXT_SIZED) {
            size = 1ULL << shift;
            if (next == XAI_PTE_NEXT_SIZED) {
                /*
                 * The lowest clear address bit ends a run of ones that
                 * encodes the size, between this level's page size and
                 * the next level's; the PTE is repeated over the range.
                 */
                unsigned ones = ctz64(~(pte | 0xfffULL));  /* 64: all */

                if (ones + 1 <= shift || ones + 1 >= shift + 9 ||
                    ones + 1 >= 64) {
                    return XAI_PAGE_FAULT;
                }
                size = 1ULL << (ones + 1);
            }
            t->addr = (pte & XAI_PTE_ADDR & ~(size - 1)) |
                      (iova & (size - 1) & ~0xfffULL);
            t->page_mask = 0xfff;
            goto check;
        }
        if (next >= level) {
            return XAI_PAGE_FAULT;  /* a walk only goes down */
        }
        if (next < level - 1 &&
            extract64(iova, 12 + 9 * next, 9 * (level - 1 - next))) {
            return XAI_PAGE_FAULT;  /* skipped levels need zero bits */
        }
        level = next;
        table = pte & XAI_PTE_ADDR;
    }
    return XAI_PAGE_FAULT;

check:
    t->read = read;
    t->write = write;
    if (!(is_write ? write : read)) {
        /* present, but not for this access */
        w->flags |= XAI_EVT_F_PR | XAI_EVT_F_PE;
        return XAI_PAGE_FAULT;
    }
    return XAI_OK;
}

/*
 * A guest walk that fails in the host tables faults on a guest-physical
 * address: the event names the domain and that address (GN=0), and no
 * page request is made, as the guest's process tables the PPR handler
 * fixes are not what is missing.
 */
static XaiFault xai_host_stage_fault(XaiWalk *w, hwaddr gpa, uint16_t flags)
{
    w->host_stage = true;
    w->fault_gpa = gpa;
    w->flags |= flags;
    return XAI_PAGE_FAULT;
}

/*
 * A guest table access or guest-physical address, through the host tables
 * (a fault there as above); @h receives the host page with the accesses
 * the host tables allow.
 */
static XaiFault xai_nested(XenAmdIommuV2Engine *e, XaiWalk *w, hwaddr gpa,
                           bool is_write, hwaddr *spa,
                           XenAmdIommuV2Translation *h)
{
    XaiFault f;

    memset(h, 0, sizeof(*h));
    f = xai_host_walk(e, w, gpa, is_write, h);
    *spa = h->addr | (gpa & 0xfff);
    if (f == XAI_PT_HW_ERROR) {
        w->host_stage = true;   /* a host table entry: the domain's */
    }
    return f == XAI_PAGE_FAULT ? xai_host_stage_fault(w, gpa, 0) : f;
}

static uint64_t xai_gcr3_root(const uint64_t *dte)
{
    return extract64(dte[0], XAI_DTE_GCR3_A_SHIFT, 3) << 12 |
           extract64(dte[1], XAI_DTE1_GCR3_B_SHIFT, 16) << 15 |
           extract64(dte[1], XAI_DTE1_GCR3_C_SHIFT, 21) << 31;
}

/*
 * Set a guest entry's Accessed bit, and Dirty for a write through a
 * leaf, as the CPU does (2.2.6): guest page tables are the process's own
 * with shared virtual addressing, and the kernel reclaims clean pages.
 * The bits go into the entry at guest-physical @gpa, system address @at,
 * which the host tables must let the IOMMU write. XAI_OK, or a host-stage
 * XAI_PAGE_FAULT if they do not, or a hardware error; *@entry is re-read
 * when a vCPU changed it, and the caller looks at it again.
 */
static XaiFault xai_guest_update(XenAmdIommuV2Engine *e, XaiWalk *w,
                                 hwaddr gpa, hwaddr at, bool host_write,
                                 uint64_t *entry, uint64_t bits,
                                 bool *changed)
{
    *changed = false;
    if ((*entry & bits) == bits) {
        return XAI_OK;
    }
    if (!host_write) {
        /* the IOMMU's own write, to a page present but read-only */
        return xai_host_stage_fault(w, gpa, XAI_EVT_F_PR | XAI_EVT_F_PE);
    }
    switch (xai_dma_set_bits(e, at, entry, bits)) {
    case XAI_DMA_UPDATED:
        return XAI_OK;
    case XAI_DMA_CHANGED:
        *changed = true;
        return XAI_OK;
    default:
        w->error_addr = at;
        return XAI_PT_HW_ERROR;
    }
}

/* A vCPU rewriting an entry under the walk gets this many more looks */
#define XAI_GUEST_RETRIES   4

/*
 * Guest translation (2.2.6): GCR3 table indexed by PASID (one or two
 * levels, 9 PASID bits each), then an x86-64 walk of the guest's tables,
 * four levels or five as the entry's guest paging mode says (GPM, up to
 * what GATS offers), with 1 GiB and 2 MiB pages. The GCR3 table is in
 * system memory; guest CR3 and every guest table pointer are
 * guest-physical.
 */
static XaiFault xai_guest_walk(XenAmdIommuV2Engine *e, XaiWalk *w,
                               const XenAmdIommuV2Request *req,
                               XenAmdIommuV2Translation *t)
{
    unsigned glx = extract64(w->dte[0], XAI_DTE_GLX_SHIFT, 2);
    unsigned gpm = extract64(w->dte[2], XAI_DTE2_GPM_SHIFT, 2);
    unsigned levels = 4 + gpm, va_bits = 12 + 9 * levels;
    uint64_t table = xai_gcr3_root(w->dte);
    XenAmdIommuV2Translation host;
    uint64_t entry, gpa = 0;
    bool write = true, user = true;
    int level, retries = XAI_GUEST_RETRIES;
    XaiFault f;

    w->guest = true;
    w->walked = true;
    if (glx > ((e->efr >> XAI_EFR_GLX_SHIFT) & 3) ||
        gpm > ((e->efr >> XAI_EFR_GATS_SHIFT) & 3)) {
        return XAI_BAD_DTE;
    }
    if (req->pasid >> (9 * (glx + 1))) {
        return XAI_PAGE_FAULT;
    }
    /*
     * A PASID's addresses are canonical for the paging mode, as the CPU's;
     * untagged DMA on PASID 0's tables has no sign extension: all the
     * mode's bits address the lower half (Linux's v2 DMA domains).
     */
    if (w->untagged_gio ? req->addr >> va_bits != 0 :
        sextract64(req->addr, 0, va_bits) != (int64_t)req->addr) {
        return XAI_PAGE_FAULT;
    }
    for (level = glx; level >= 0; level--) {
        hwaddr at = table + extract64(req->pasid, 9 * level, 9) * 8;

        if (!xai_read_u64(e, at, &entry)) {
            w->error_addr = at;
            return XAI_PT_HW_ERROR;
        }
        if (!(entry & XAI_GCR3_V)) {
            return XAI_PAGE_FAULT;
        }
        table = entry & XAI_GPTE_ADDR;
    }
    /* table now holds the guest CR3: a guest-physical address */
    for (level = levels - 1; level >= 0; level--) {
        unsigned shift = 12 + 9 * level;
        hwaddr gpa_at = table + ((req->addr >> shift) & 0x1ff) * 8, at;
        bool leaf, changed;
        uint64_t bits;

        f = xai_nested(e, w, gpa_at, false, &at, &host);
        if (f != XAI_OK) {
            return f;
        }
        if (!xai_read_u64(e, at, &entry)) {
            w->error_addr = at;
            return XAI_PT_HW_ERROR;
        }
again:
        if (!(entry & XAI_GPTE_P)) {
            return XAI_PAGE_FAULT;
        }
        if (level >= 3 && (entry & XAI_GPTE_PS)) {
            /* reserved in PML4 and PML5 entries, as for the CPU */
            w->flags |= XAI_EVT_F_PR | XAI_EVT_F_RZ;
            return XAI_PAGE_FAULT;
        }
        leaf = level == 0 || ((level == 1 || level == 2) &&
                              (entry & XAI_GPTE_PS));
        if (leaf && level && extract64(entry, 13, shift - 13)) {
            /* a large page's address bits below its size (PAT is 12) */
            w->flags |= XAI_EVT_F_PR | XAI_EVT_F_RZ;
            return XAI_PAGE_FAULT;
        }
        bits = XAI_GPTE_A;
        if (leaf && req->is_write && write && (entry & XAI_GPTE_RW) &&
            (!req->is_user || (user && (entry & XAI_GPTE_US)))) {
            bits |= XAI_GPTE_D;
        }
        f = xai_guest_update(e, w, gpa_at, at, host.write, &entry, bits,
                             &changed);
        if (f != XAI_OK) {
            return f;
        }
        if (changed) {
            if (!retries--) {
                return XAI_PAGE_FAULT;
            }
            goto again;
        }
        write &= !!(entry & XAI_GPTE_RW);
        user &= !!(entry & XAI_GPTE_US);
        if (leaf) {
            uint64_t size = 1ULL << shift;

            gpa = (entry & XAI_GPTE_ADDR & ~(size - 1)) |
                  (req->addr & (size - 1));
            break;
        }
        table = entry & XAI_GPTE_ADDR;
    }
    if ((req->is_write && !write) || (req->is_user && !user)) {
        w->flags |= XAI_EVT_F_PR | XAI_EVT_F_PE;
        return XAI_PAGE_FAULT;
    }
    /* The final guest-physical page, with the access asked for */
    f = xai_nested(e, w, gpa, req->is_write, &t->addr, &host);
    if (f != XAI_OK) {
        return f;
    }
    t->addr &= ~0xfffULL;
    t->page_mask = 0xfff;
    /*
     * What both levels allow. Write only once a write has been checked,
     * and set Dirty: a later write must walk again to set it.
     */
    t->read = host.read;
    t->write = write && host.write && req->is_write;
    return XAI_OK;
}

/* PASID[19:16] in bits 19:16, PASID[15:0] in bits 47:32 (2.5) */
static uint64_t xai_event_pasid(uint32_t pasid)
{
    return (uint64_t)extract32(pasid, 16, 4) << 16 |
           (uint64_t)extract32(pasid, 0, 16) << 32;
}

/*
 * The first quadword of a translation fault's event (2.5.x): the layout
 * differs by event. Hardware errors carry the table entry's address and
 * type 01b, master abort: nothing answered there.
 */
static uint64_t xai_fault_q0(const XaiWalk *w,
                             const XenAmdIommuV2Request *req, XaiFault f,
                             uint16_t flags)
{
    uint64_t q0 = req->devid;
    uint16_t gn = req->pasid_valid ? XAI_EVT_F_GN : 0;
    uint16_t rw = req->is_write ? XAI_EVT_F_RW : 0;
    uint16_t us = req->pasid_valid && req->is_user ? XAI_EVT_F_US : 0;
    uint16_t tr = req->translation ? XAI_EVT_F_TR : 0;

    switch (f) {
    case XAI_PAGE_FAULT:
        if (w->host_stage) {
            q0 |= (uint64_t)w->domid << 32;
            flags |= rw | tr;
            break;
        }
        q0 |= req->pasid_valid ? xai_event_pasid(req->pasid)
                               : (uint64_t)w->domid << 32;
        flags |= gn | rw | us | tr;
        break;
    case XAI_BAD_DTE:
        q0 |= req->pasid_valid ? xai_event_pasid(req->pasid) : 0;
        flags = (flags & ~(XAI_EVT_F_PR | XAI_EVT_F_PE)) | gn | rw | tr;
        break;
    case XAI_DTE_HW_ERROR:
        flags = rw | tr | XAI_EVT_HW_MASTER_ABORT;
        break;
    case XAI_PT_HW_ERROR:
        if (w->host_stage) {
            /* a host table under a guest walk: the domain's, as above */
            q0 |= (uint64_t)w->domid << 32;
            flags = rw | tr | XAI_EVT_HW_MASTER_ABORT;
            break;
        }
        q0 |= req->pasid_valid ? xai_event_pasid(req->pasid)
                               : (uint64_t)w->domid << 32;
        flags = gn | rw | tr | XAI_EVT_HW_MASTER_ABORT;
        break;
    case XAI_INVALID_REQUEST:
        /* Type 000b: a request the device table entry does not allow */
        q0 |= xai_event_pasid(req->pasid);
        flags = gn | tr | (req->is_user ? XAI_EVT_F_IDR_US : 0);
        break;
    default:
        g_assert_not_reached();
    }
    return q0 | (uint64_t)flags << XAI_EVT_FLAGS_SHIFT;
}

/*
 * QEMU's memory core splits an access it cannot complete into smaller
 * ones, each translated again at a higher address, and address_space_map()
 * falls back to a bounce buffer that translates the same address again:
 * report such a run once, as the single transaction on a real bus would
 * give. A run ends with a translation that works (a walk or an IOTLB
 * hit), another requester, PASID, kind or page, a lower address, or the
 * driver consuming the event log.
 */
static bool xai_fault_repeated(XenAmdIommuV2Engine *e,
                               const XenAmdIommuV2Request *req)
{
    uint32_t pasid = req->pasid_valid ? req->pasid : XAI_NO_PASID;
    bool repeated = e->last_fault.valid &&
                    e->last_fault.devid == req->devid &&
                    e->last_fault.pasid == pasid &&
                    e->last_fault.write == req->is_write &&
                    e->last_fault.user == req->is_user &&
                    (e->last_fault.addr >> 12) == (req->addr >> 12) &&
                    req->addr >= e->last_fault.addr;

    e->last_fault.valid = true;
    e->last_fault.devid = req->devid;
    e->last_fault.pasid = pasid;
    e->last_fault.write = req->is_write;
    e->last_fault.user = req->is_user;
    e->last_fault.addr = req->addr;
    return repeated;
}

static void xai_report_fault(XenAmdIommuV2Engine *e, XaiWalk *w,
                             const XenAmdIommuV2Request *req, XaiFault f)
{
    static const unsigned codes[] = {
        [XAI_PAGE_FAULT] = XAI_EVT_IO_PAGE_FAULT,
        [XAI_BAD_DTE] = XAI_EVT_ILLEGAL_DEV_TABLE_ENTRY,
        [XAI_DTE_HW_ERROR] = XAI_EVT_DEV_TAB_HW_ERROR,
        [XAI_PT_HW_ERROR] = XAI_EVT_PAGE_TAB_HW_ERROR,
        [XAI_INVALID_REQUEST] = XAI_EVT_INVALID_DEVICE_REQUEST,
    };
    uint16_t flags = w->flags;
    uint64_t addr = req->addr;

    if (xai_fault_repeated(e, req)) {
        return;
    }
    e->counters.faults++;
    trace_xen_amd_iommu_v2_fault(req->devid, req->pasid_valid, req->pasid,
                                 req->addr, req->is_write, codes[f]);
    if (f == XAI_PAGE_FAULT && (w->dte[1] & (XAI_DTE1_SA | XAI_DTE1_SE))) {
        return;
    }
    /* A table entry's address: 32-byte DTEs, 8-byte PTEs */
    if (f == XAI_DTE_HW_ERROR || f == XAI_PT_HW_ERROR) {
        addr = w->error_addr & ~7ULL;
    } else if (f == XAI_BAD_DTE) {
        addr &= ~3ULL;      /* bits 1:0 are reserved there */
    } else if (w->host_stage) {
        addr = w->fault_gpa;
    }
    xai_event(e, codes[f], xai_fault_q0(w, req, f, flags), addr);
}

/*
 * Page requests for a device: always, unless the driver turned on
 * enhanced PPR handling (Control.EPHEn), which lets the device table
 * entry's PPR bit opt in. A driver that knows nothing of it leaves both
 * clear and still gets its page requests.
 */
static bool xai_ppr_enabled_for(XenAmdIommuV2Engine *e, const uint64_t *dte)
{
    return !(e->regs[XAI_R_CONTROL] & XAI_CTRL_EPH_EN) ||
           (dte[0] & XAI_DTE_PPR);
}

/*
 * Whether the requester answers a fault with a page request: a PASID
 * request's fault in the guest's own tables, not a reserved bit (which
 * no page request mends) nor a host-stage fault.
 */
static bool xai_ppr_eligible(XenAmdIommuV2Engine *e, const XaiWalk *w,
                             const XenAmdIommuV2Request *req, XaiFault f)
{
    return req->pasid_valid && f == XAI_PAGE_FAULT && !w->host_stage &&
           !(w->flags & XAI_EVT_F_RZ) &&
           (e->regs[XAI_R_CONTROL] & XAI_CTRL_PPR_EN) &&
           xai_ppr_enabled_for(e, w->dte);
}

bool xen_amd_iommu_v2_enabled(XenAmdIommuV2Engine *e)
{
    return e->regs[XAI_R_CONTROL] & XAI_CTRL_IOMMU_EN;
}

static void xai_passthrough(const XenAmdIommuV2Request *req,
                            XenAmdIommuV2Translation *t)
{
    t->addr = req->addr & ~0xfffULL;
    t->page_mask = 0xfff;
    t->read = t->write = true;
}

/*
 * The exclusion range (3.4.x, Exclusion Base and Limit registers): while
 * enabled, untagged requests inside it pass untranslated, from every
 * device if Allow is set, else from those whose entry sets EX. The limit
 * names the range's last page.
 */
static bool xai_excluded(XenAmdIommuV2Engine *e,
                         const XenAmdIommuV2Request *req, const uint64_t *dte)
{
    uint64_t base = e->regs[XAI_R_EXCL_BASE];
    uint64_t limit = e->regs[XAI_R_EXCL_LIMIT] & XAI_BASE_ADDR;

    if (req->pasid_valid || !(base & XAI_EXCL_ENABLE) ||
        req->addr < (base & XAI_BASE_ADDR) || req->addr > (limit | 0xfff)) {
        return false;
    }
    return (base & XAI_EXCL_ALLOW) || (dte && (dte[1] & XAI_DTE1_EX));
}

/*
 * Translate one request. Returns false on a fault, which has been logged
 * as the device table entry allows.
 */
bool xen_amd_iommu_v2_translate(XenAmdIommuV2Engine *e,
                                const XenAmdIommuV2Request *req,
                                XenAmdIommuV2Translation *t)
{
    QEMU_LOCK_GUARD(&e->lock);
    XaiWalk w = { .devid = req->devid };
    XaiIotlbEntry *hit;
    XaiFault f;

    memset(t, 0, sizeof(*t));
    if (!xen_amd_iommu_v2_enabled(e) ||
        (!req->pasid_valid && req->addr >= XAI_MSI_WINDOW_BASE &&
         req->addr <= XAI_MSI_WINDOW_END)) {
        /* Off, or an interrupt: without remapping, it passes as is. */
        xai_passthrough(req, t);
        return true;
    }
    if (xai_excluded(e, req, NULL)) {
        xai_passthrough(req, t);
        return true;
    }
    hit = xai_iotlb_lookup(e, req);
    if (hit && (req->is_write ? hit->write : hit->read)) {
        e->counters.iotlb_hits++;
        xai_fault_run_end(e);
        t->addr = hit->addr;
        t->page_mask = hit->page_mask;
        t->read = hit->read;
        t->write = hit->write;
        return true;
    }
    f = xai_read_dte(e, &w);
    if (f == XAI_OK && !(w.dte[0] & XAI_DTE_V) &&
        (req->pasid_valid || req->translation)) {
        /*
         * No entry: untagged DMA passes, but a translation request (or a
         * PASID, which only the entry's GCR3 table could give meaning)
         * is refused, not answered with its address as a physical one
         */
        f = XAI_INVALID_REQUEST;
    } else if (f == XAI_OK) {
        if (!(w.dte[0] & XAI_DTE_V) || xai_excluded(e, req, w.dte)) {
            xai_passthrough(req, t);
            return true;
        }
        if (!(w.dte[0] & XAI_DTE_TV)) {
            /* No GCR3 table either: a PASID has nothing to select */
            f = req->pasid_valid ? XAI_INVALID_REQUEST :
                xai_untranslated(&w, req->addr, req->is_write, t);
        } else if (!req->pasid_valid && (w.dte[0] & XAI_DTE_GIOV) &&
            (w.dte[0] & XAI_DTE_GV) && (e->efr & XAI_EFR_GIO_SUP)) {
            /* Guest I/O protection: untagged requests use PASID 0 */
            XenAmdIommuV2Request gio = *req;

            gio.pasid_valid = true;
            gio.pasid = 0;
            w.untagged_gio = true;
            f = xai_guest_walk(e, &w, &gio, t);
        } else if (req->pasid_valid) {
            /* PASID requests need guest translation on (2.2.6) */
            if (!(w.dte[0] & XAI_DTE_GV) || !(e->efr & XAI_EFR_GT_SUP) ||
                !(e->regs[XAI_R_CONTROL] & XAI_CTRL_GT_EN)) {
                f = XAI_INVALID_REQUEST;
            } else {
                w.pasid_valid = true;
                w.pasid = req->pasid;
                f = xai_guest_walk(e, &w, req, t);
            }
        } else {
            f = xai_host_walk(e, &w, req->addr, req->is_write, t);
        }
    }
    e->counters.translations += w.walked;
    trace_xen_amd_iommu_v2_translate(req->devid, req->pasid_valid,
                                     req->pasid, req->addr, t->addr, f);
    if (f != XAI_OK) {
        t->fault = true;
        /*
         * A PRI-capable requester answers such a fault with a page
         * request (a PPR log entry), not an IO_PAGE_FAULT event.
         */
        t->ppr_eligible = xai_ppr_eligible(e, &w, req, f);
        if (t->ppr_eligible) {
            e->counters.faults++;
        } else {
            xai_report_fault(e, &w, req, f);
        }
        return false;
    }
    xai_iotlb_insert(e, req, &w, t);
    xai_fault_run_end(e);
    return true;
}
