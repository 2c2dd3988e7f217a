/*
 * xen-amd-iommu-v2 PCI transport: config space, IOMMU capability, MSI,
 * register window
 *
 * The PCI function looks like an AMD IOMMU (spec 3.2): vendor AMD, class
 * 0806h, a secure-device capability of IOMMU type, one MSI vector, and no
 * BAR. As on the real part, the registers decode at the address held in
 * the capability's base address registers, placed by platform firmware
 * and locked by the Enable bit (3.2.1.2). QEMU plays that firmware: it
 * places each instance at its mmio-base. A BAR would not do: the guest's
 * AMD-Vi driver reserves the register range from the IVRS before PCI
 * enumeration, so the PCI core finds the BAR "in conflict" and moves it
 * away from under the driver.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/lockable.h"
#include "qemu/log.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "exec/address-spaces.h"
#include "hw/pci/msi.h"
#include "hw/pci/pci.h"
#include "hw/pci/pci_bus.h"
#include "hw/pci/pci_bridge.h"
#include "system/runstate.h"
#include "system/xen.h"
#include "hw/qdev-properties.h"
#include "migration/blocker.h"
#include "migration/vmstate.h"
#include "hw/xen/xen-amd-iommu-v2.h"
#include "xen-amd-iommu-v2-bits.h"
#include "trace.h"

/* Where QEMU, as firmware, places instances that do not say */
#define XAI_MMIO_BASE_DEFAULT 0xfed80000ULL
static unsigned xai_pci_instances;
/* Realized instances, whose register windows may not overlap */
static GPtrArray *xai_pci_realized;

static uint64_t xai_pci_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    XenAmdIommuV2State *s = opaque;

    return xen_amd_iommu_v2_engine_read(&s->engine, addr, size);
}

static void xai_pci_mmio_write(void *opaque, hwaddr addr, uint64_t val,
                               unsigned size)
{
    XenAmdIommuV2State *s = opaque;

    xen_amd_iommu_v2_engine_write(&s->engine, addr, val, size);
    xen_amd_iommu_v2_deliver_irq(s);
}

static const MemoryRegionOps xai_pci_mmio_ops = {
    .read = xai_pci_mmio_read,
    .write = xai_pci_mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 1,
        .max_access_size = 8,
        .unaligned = false,
    },
    .impl = {
        .min_access_size = 1,
        .max_access_size = 8,
    },
};

/*
 * The IOMMU's one interrupt. Its MSI is the IOMMU's own message to the
 * interrupt controller, sent whether or not the guest set Bus Master
 * Enable on the function: IOMMU drivers do not count on setting it.
 */
static void xai_pci_send_msi(XenAmdIommuV2State *s)
{
    if (!xen_amd_iommu_v2_link_send_msi(&s->link)) {
        trace_xen_amd_iommu_v2_msi_disabled();
        return;
    }
    WITH_QEMU_LOCK_GUARD(&s->engine.lock) {
        s->engine.counters.interrupts++;
    }
}

/*
 * Send the MSI the engine raised, if any. Callers have left the engine's
 * lock: an MSI is a write wherever the guest pointed it, an MMIO dispatch
 * that needs the BQL and may reach a device that then waits for an
 * iothread (a virtio reset drains it), which may be waiting for the lock.
 * A thread without the BQL leaves it to a bottom half in the main loop:
 * one MSI for all raised until it runs.
 */
void xen_amd_iommu_v2_deliver_irq(XenAmdIommuV2State *s)
{
    /* (the common case, read without the lock: no wakeup of the loop) */
    if (!qatomic_read(&s->engine.irq_pending)) {
        return;
    }
    if (!bql_locked()) {
        qemu_bh_schedule(s->irq_bh);
    } else if (!runstate_is_running()) {
        /*
         * Stopped, or still loading an incoming machine (another device's
         * load-time DMA translated through us): the interrupt controller
         * may not be there yet. It goes when the machine runs.
         */
        return;
    } else if (xen_amd_iommu_v2_take_irq(&s->engine)) {
        xai_pci_send_msi(s);
    }
}

static void xai_pci_irq_bh(void *opaque)
{
    xen_amd_iommu_v2_deliver_irq(opaque);
}

/*
 * An MSI raised while the machine was not running (one that came in the
 * migration stream, or a fault while stopped) goes once it runs: sent
 * while the destination still loads, it could reach an interrupt
 * controller whose state is loaded after this device's, and be lost.
 */
static void xai_pci_vm_state_change(void *opaque, bool running,
                                    RunState state)
{
    XenAmdIommuV2State *s = opaque;

    if (running && qatomic_read(&s->engine.irq_pending)) {
        qemu_bh_schedule(s->irq_bh);
    }
}

/*
 * The engine end refused what the guest programmed: said once on the
 * host's log, then as a guest error, so a guest repeating it a config
 * write at a time cannot flood the log.
 */
static void xai_pci_link_refused(bool *said, Error *err)
{
    if (!*said) {
        *said = true;
        error_report_err(err);
        return;
    }
    qemu_log_mask(LOG_GUEST_ERROR, "%s\n", error_get_pretty(err));
    error_free(err);
}

/* Tell the link about the MSI capability as the guest left it. */
static void xai_pci_sync_msi(XenAmdIommuV2State *s)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    MSIMessage msg;
    Error *err = NULL;

    if (msi_enabled(pdev)) {
        msg = msi_get_message(pdev, 0);
    }
    if (!xen_amd_iommu_v2_link_set_msi(&s->link, msi_enabled(pdev) ? &msg
                                       : NULL, &err)) {
        xai_pci_link_refused(&s->said_msi_refused, err);
    }
}

/*
 * DMA remapping: every device on the IOMMU's bus (and below it) gets an
 * address space whose root holds the IOMMU region while the guest has
 * translation on, and a plain alias of system memory while it is off, so
 * firmware and an IOMMU-less boot pay nothing.
 */
#define TYPE_XAI_IOMMU_MEMORY_REGION "xen-amd-iommu-v2-iommu-memory-region"

struct XenAmdIommuV2Space {
    XenAmdIommuV2State *s;
    PCIBus *bus;
    bool root_bus;
    int devfn;
    IOMMUMemoryRegion iommu;
    MemoryRegion root;
    MemoryRegion passthrough;
    AddressSpace as;
};

static void xai_space_switch(XenAmdIommuV2Space *sp, bool translate)
{
    /* (no QOM cast: this runs for every space at every invalidation) */
    if (sp->iommu.parent_obj.enabled != translate) {
        memory_region_transaction_begin();
        memory_region_set_enabled(MEMORY_REGION(&sp->iommu), translate);
        memory_region_set_enabled(&sp->passthrough, !translate);
        memory_region_transaction_commit();
    }
}

/*
 * Everything a listener of the space may have cached, in naturally
 * aligned blocks over the listener's own range: QEMU asserts that an
 * unmap lies within the range of a listener that does not take device
 * IOTLB events, and vhost passes addr_mask + 1 on as a length (0 for a
 * single block over 2^64 bytes).
 */
static void xai_notifier_unmap_all(IOMMUNotifier *n)
{
    IOMMUTLBEvent event = {
        /* the device's own ATS translations (vhost with ATS on), or ours */
        .type = n->notifier_flags & IOMMU_NOTIFIER_DEVIOTLB_UNMAP ?
                IOMMU_NOTIFIER_DEVIOTLB_UNMAP : IOMMU_NOTIFIER_UNMAP,
        .entry = {
            .target_as = &address_space_memory,
            .perm = IOMMU_NONE,
        },
    };
    hwaddr start = n->start;
    int bits;

    while (start <= n->end) {
        bits = MIN(start ? ctz64(start) : 63, 63);
        while (bits && start + ((1ULL << bits) - 1) > n->end) {
            bits--;
        }
        event.entry.iova = start;
        event.entry.addr_mask = (1ULL << bits) - 1;
        memory_region_notify_iommu_one(n, &event);
        if (event.entry.addr_mask >= n->end - start) {
            break;
        }
        start += event.entry.addr_mask + 1;
    }
}

static void xai_space_unmap_all(XenAmdIommuV2Space *sp)
{
    IOMMUNotifier *n;

    IOMMU_NOTIFIER_FOREACH(n, &sp->iommu) {
        xai_notifier_unmap_all(n);
    }
}

/*
 * Bus numbers of secondary buses change when firmware programs bridges,
 * so they are read at each request; bus 0 needs no lookup, and this is
 * the hot path of every DMA.
 */
static uint16_t xai_space_devid(XenAmdIommuV2Space *sp)
{
    return sp->root_bus || !sp->bus ? sp->devfn
                        : PCI_BUILD_BDF(pci_bus_num(sp->bus), sp->devfn);
}

/*
 * Cached translations went away: follow IommuEn, tell notifiers. One
 * memory transaction for all the spaces: each commit rebuilds every
 * flat view of the machine, so switching N devices one commit each costs
 * N rebuilds where one does.
 */
static void xai_pci_invalidated(XenAmdIommuV2Engine *e, int devid)
{
    XenAmdIommuV2State *s = e->opaque;
    bool translate = xen_amd_iommu_v2_enabled(e);
    int i;

    memory_region_transaction_begin();
    for (i = 0; i < s->live_spaces->len; i++) {
        XenAmdIommuV2Space *sp = g_ptr_array_index(s->live_spaces, i);

        if (devid < 0 || xai_space_devid(sp) == devid) {
            xai_space_switch(sp, translate);
            xai_space_unmap_all(sp);
        }
    }
    memory_region_transaction_commit();
}

/*
 * Called with or without the BQL: vCPUs and the main loop hold it, a
 * virtio device's iothread does not, and must not wait for it (the main
 * loop may hold it while it drains that very iothread's requests). The
 * engine's lock serializes the translation with commands and registers;
 * the bus a space belongs to is read under it too (a bridge may go).
 */
static IOMMUTLBEntry xai_iommu_translate(IOMMUMemoryRegion *iommu,
                                        hwaddr addr, IOMMUAccessFlags flag,
                                        int iommu_idx)
{
    XenAmdIommuV2Space *sp = container_of(iommu, XenAmdIommuV2Space, iommu);
    XenAmdIommuV2Engine *e = &sp->s->engine;
    XenAmdIommuV2Request req = {
        .addr = addr,
        .is_write = flag & IOMMU_WO,
    };
    XenAmdIommuV2Translation t;
    IOMMUTLBEntry entry = {
        .target_as = &address_space_memory,
        .iova = addr & ~0xfffULL,
        .addr_mask = 0xfff,
        .perm = IOMMU_NONE,
    };

    WITH_QEMU_LOCK_GUARD(&e->lock) {
        if (!sp->bus) {
            return entry;   /* its bridge went: a request in flight fails */
        }
        req.devid = xai_space_devid(sp);
        if (xen_amd_iommu_v2_translate(e, &req, &t)) {
            entry.iova = addr & ~t.page_mask;
            entry.translated_addr = t.addr;
            entry.addr_mask = t.page_mask;
            entry.perm = IOMMU_ACCESS_FLAG(t.read, t.write);
        }
    }
    xen_amd_iommu_v2_deliver_irq(sp->s);     /* a fault may have logged */
    return entry;
}

static void xai_no_map_notifications(Error **errp)
{
    error_setg(errp, "%s does not send MAP notifications: devices that "
               "shadow its mappings (vfio) cannot sit behind it",
               TYPE_XEN_AMD_IOMMU_V2);
}

static int xai_iommu_notify_flag_changed(IOMMUMemoryRegion *iommu,
                                         IOMMUNotifierFlag old,
                                         IOMMUNotifierFlag new,
                                         Error **errp)
{
    if (new & IOMMU_NOTIFIER_MAP) {
        xai_no_map_notifications(errp);
        return -EINVAL;
    }
    return 0;
}

static XenAmdIommuV2Space *xai_space_new(XenAmdIommuV2State *s, PCIBus *bus,
                                         int devfn)
{
    XenAmdIommuV2Space *sp = g_new0(XenAmdIommuV2Space, 1);
    g_autofree char *name = g_strdup_printf("xen-amd-iommu-v2-%s-%02x.%x",
                                            BUS(bus)->name,
                                            PCI_SLOT(devfn), PCI_FUNC(devfn));
    MemoryRegion *sysmem = get_system_memory();

    sp->s = s;
    sp->bus = bus;
    /* Bus 0 (an expander's root bus has a number of its own) */
    sp->root_bus = pci_bus_is_root(bus) && !pci_bus_num(bus);
    sp->devfn = devfn;
    memory_region_init(&sp->root, OBJECT(s), name, UINT64_MAX);
    memory_region_init_iommu(&sp->iommu, sizeof(sp->iommu),
                             TYPE_XAI_IOMMU_MEMORY_REGION, OBJECT(s), name,
                             UINT64_MAX);
    memory_region_init_alias(&sp->passthrough, OBJECT(s), name, sysmem, 0,
                             memory_region_size(sysmem));
    memory_region_add_subregion_overlap(&sp->root, 0,
                                        MEMORY_REGION(&sp->iommu), 0);
    memory_region_add_subregion_overlap(&sp->root, 0, &sp->passthrough, 0);
    memory_region_set_enabled(MEMORY_REGION(&sp->iommu), false);
    address_space_init(&sp->as, &sp->root, name);
    WITH_QEMU_LOCK_GUARD(&s->engine.lock) {
        xai_space_switch(sp, xen_amd_iommu_v2_enabled(&s->engine));
    }
    return sp;
}

/*
 * A device bound in the hypervisor gets guest translation there only with
 * a one-level GCR3 table, which Linux uses for at most 9 PASID bits: say
 * so once, when the first device is bound.
 */
void xen_amd_iommu_v2_bound(XenAmdIommuV2State *s)
{
    if (s->link.ops->hypervisor_mmio && s->features.pasid_bits > 9 &&
        !s->warned_pasid_bits) {
        warn_report("%s: a bound device's PASIDs need pasid-bits=9 or "
                    "fewer under the hypervisor's fast path (a two-level "
                    "GCR3 table is not taken)", TYPE_XEN_AMD_IOMMU_V2);
        s->warned_pasid_bits = true;
    }
}

/* The address space this IOMMU gave @dev, NULL if none */
static XenAmdIommuV2Space *xai_pci_space_of(XenAmdIommuV2State *s,
                                            PCIDevice *dev)
{
    AddressSpace *as = pci_device_iommu_address_space(dev);
    int i;

    for (i = 0; i < s->live_spaces->len; i++) {
        XenAmdIommuV2Space *sp = g_ptr_array_index(s->live_spaces, i);

        if (&sp->as == as) {
            return sp;
        }
    }
    return NULL;
}

bool xen_amd_iommu_v2_translates(XenAmdIommuV2State *s, PCIDevice *dev)
{
    return s->translating && xai_pci_space_of(s, dev);
}

/*
 * A passed-through device behind the IOMMU: the fast path must know its
 * machine BDF. Its guest device ID is the one its DMA carries here (a
 * conventional bridge's, for a device behind one).
 */
static void xai_pci_device_realized(DeviceListener *listener,
                                    DeviceState *dev)
{
    XenAmdIommuV2State *s = container_of(listener, XenAmdIommuV2State,
                                         device_listener);
    XenAmdIommuV2Space *sp;
    g_autofree char *host = NULL;
    XenAmdIommuV2Bdf b = { 0 };
    Error *err = NULL;

    if (!object_dynamic_cast(OBJECT(dev), "xen-pci-passthrough")) {
        return;
    }
    sp = xai_pci_space_of(s, PCI_DEVICE(dev));
    if (!sp) {
        return;
    }
    b.guest_bdf = xai_space_devid(sp);
    host = object_property_get_str(OBJECT(dev), "hostaddr", &err);
    if (!host ||
        !xen_amd_iommu_v2_parse_bdf(host, &b.machine_seg, &b.machine_bdf,
                                    &err) ||
        !xen_amd_iommu_v2_link_bind(&s->link, &b, true, &err)) {
        error_prepend(&err, "%s: passthrough device %s at %02x:%02x.%x: ",
                      TYPE_XEN_AMD_IOMMU_V2, host ? host : "?",
                      PCI_BUS_NUM(b.guest_bdf), PCI_SLOT(b.guest_bdf),
                      PCI_FUNC(b.guest_bdf));
        error_report_err(err);
        return;
    }
    /* bit 16 set: guest BDF 0 is a value, not the table's NULL */
    g_hash_table_insert(s->passthrough, dev,
                        GUINT_TO_POINTER(b.guest_bdf | 0x10000));
    xen_amd_iommu_v2_bound(s);
}

/*
 * A bridge is going (hot-unplug, or a guest powering off the slot it is
 * in): its secondary bus, which keys the address spaces of the devices
 * behind it, is freed with it. Those spaces leave the table, so that no
 * invalidation looks at the bus again, and go empty: no device ID
 * stands for them any more, so nothing may be translated in them. They
 * are kept, not freed, as their memory regions may still be in use
 * until RCU lets go (a bridge comes back only by the user's hotplug).
 */
static void xai_pci_forget_bus(XenAmdIommuV2State *s, PCIBus *bus)
{
    XenAmdIommuV2Space **spaces;
    int i;

    if (!g_hash_table_steal_extended(s->spaces, bus, NULL,
                                     (gpointer *)&spaces)) {
        return;
    }
    QEMU_LOCK_GUARD(&s->engine.lock);       /* for translations' bus */
    memory_region_transaction_begin();
    for (i = 0; i < PCI_DEVFN_MAX; i++) {
        if (spaces[i]) {
            memory_region_set_enabled(MEMORY_REGION(&spaces[i]->iommu),
                                      false);
            memory_region_set_enabled(&spaces[i]->passthrough, false);
            spaces[i]->bus = NULL;
            g_ptr_array_remove_fast(s->live_spaces, spaces[i]);
        }
    }
    memory_region_transaction_commit();
    g_ptr_array_add(s->gone_spaces, spaces);
}

/* Unplugged: a bridge's bus goes, a passed-through device's binding */

static void xai_pci_device_unrealized(DeviceListener *listener,
                                      DeviceState *dev)
{
    XenAmdIommuV2State *s = container_of(listener, XenAmdIommuV2State,
                                         device_listener);
    gpointer bound;
    XenAmdIommuV2Bdf b = { 0 };
    Error *err = NULL;

    if (object_dynamic_cast(OBJECT(dev), TYPE_PCI_BRIDGE)) {
        xai_pci_forget_bus(s, pci_bridge_get_sec_bus(PCI_BRIDGE(dev)));
    }
    bound = g_hash_table_lookup(s->passthrough, dev);
    b.guest_bdf = GPOINTER_TO_UINT(bound) & 0xffff;
    if (!bound) {
        return;
    }
    g_hash_table_remove(s->passthrough, dev);
    if (!xen_amd_iommu_v2_link_bind(&s->link, &b, false, &err)) {
        error_prepend(&err, "%s: passthrough device at %02x:%02x.%x: ",
                      TYPE_XEN_AMD_IOMMU_V2, PCI_BUS_NUM(b.guest_bdf),
                      PCI_SLOT(b.guest_bdf), PCI_FUNC(b.guest_bdf));
        error_report_err(err);
    }
}

static AddressSpace *xai_pci_get_address_space(PCIBus *bus, void *opaque,
                                               int devfn)
{
    XenAmdIommuV2State *s = opaque;
    PCIDevice *self = PCI_DEVICE(s);
    XenAmdIommuV2Space **spaces;

    /* An IOMMU never translates its own traffic. */
    if (bus == pci_get_bus(self) && devfn == self->devfn) {
        return &address_space_memory;
    }
    spaces = g_hash_table_lookup(s->spaces, bus);
    if (!spaces) {
        spaces = g_new0(XenAmdIommuV2Space *, PCI_DEVFN_MAX);
        g_hash_table_insert(s->spaces, bus, spaces);
    }
    if (!spaces[devfn]) {
        spaces[devfn] = xai_space_new(s, bus, devfn);
        g_ptr_array_add(s->live_spaces, spaces[devfn]);
    }
    return &spaces[devfn]->as;
}

/*
 * An assigned host device (vfio-pci) would register for MAP notifications
 * only once the guest turns translation on, and vfio aborts QEMU when that
 * fails: refuse it when it is realized instead.
 */
static bool xai_pci_set_iommu_device(PCIBus *bus, void *opaque, int devfn,
                                     HostIOMMUDevice *dev, Error **errp)
{
    xai_no_map_notifications(errp);
    return false;
}

static const PCIIOMMUOps xai_pci_iommu_ops = {
    .get_address_space = xai_pci_get_address_space,
    .set_iommu_device = xai_pci_set_iommu_device,
};

/* A PPR response goes to the requester the guest addressed, if any. */
static void xai_pci_ppr_complete(XenAmdIommuV2Engine *e,
                                 const XenAmdIommuV2PprCompletion *c)
{
    XenAmdIommuV2State *s = e->opaque;
    PCIDevice *target = pci_find_device(pci_device_root_bus(PCI_DEVICE(s)),
                                        PCI_BUS_NUM(c->devid),
                                        c->devid & 0xff);

    if (target) {
        xen_amd_iommu_v2_requester_response(target, c);
    }
}

static const XenAmdIommuV2EngineOps xai_pci_engine_ops = {
    .invalidated = xai_pci_invalidated,
    .ppr_complete = xai_pci_ppr_complete,
};

static uint64_t xai_pci_cap_base(PCIDevice *pdev, bool *enable)
{
    uint8_t *cap = pdev->config + XAI_CAP_OFFSET;
    uint32_t lo = pci_get_long(cap + XAI_CAP_BAR_LO);

    *enable = lo & XAI_CAP_BAR_LO_ENABLE;
    return (uint64_t)pci_get_long(cap + XAI_CAP_BAR_HI) << 32 |
           (lo & XAI_CAP_BAR_LO_ADDR);
}

static void xai_pci_set_cap_base(PCIDevice *pdev, uint64_t base, bool enable)
{
    uint8_t *cap = pdev->config + XAI_CAP_OFFSET;

    pci_set_long(cap + XAI_CAP_BAR_LO, (base & XAI_CAP_BAR_LO_ADDR) |
                 (enable ? XAI_CAP_BAR_LO_ENABLE : 0));
    pci_set_long(cap + XAI_CAP_BAR_HI, base >> 32);
}

/*
 * Decode the registers where the capability says, if it says Enable.
 * @reset: after a device reset, which the fast path must hear about even
 * when the base stays where it was.
 */
static void xai_pci_apply_base(XenAmdIommuV2State *s, bool reset)
{
    Error *err = NULL;
    bool enable;
    uint64_t base = xai_pci_cap_base(PCI_DEVICE(s), &enable);

    if (s->mapped && (!enable || base != s->mmio.addr)) {
        memory_region_del_subregion(get_system_memory(), &s->mmio);
        s->mapped = false;
    }
    if (enable && !s->mapped && !s->link.ops->hypervisor_mmio) {
        memory_region_add_subregion_overlap(get_system_memory(), base,
                                            &s->mmio, 1);
        s->mapped = true;
    }
    trace_xen_amd_iommu_v2_decode(enable, base);
    if (!xen_amd_iommu_v2_link_set_base(&s->link, enable ? base : 0, reset,
                                        &err)) {
        xai_pci_link_refused(&s->said_base_refused, err);
    }
}

/*
 * Where the registers are (the capability's base) and whether they answer
 * there: in QEMU, or in the hypervisor once it was told the window.
 */
uint64_t xen_amd_iommu_v2_base(XenAmdIommuV2State *s, bool *decode)
{
    bool enable;
    uint64_t base = xai_pci_cap_base(PCI_DEVICE(s), &enable);

    *decode = s->mapped ||
              (enable && s->link.ops->hypervisor_mmio && s->link.base == base);
    return base;
}

/* The base registers are locked while Enable is set (3.2.1.2). */
static void xai_pci_config_write(PCIDevice *pdev, uint32_t addr,
                                 uint32_t val, int len)
{
    bool was_enabled, enable, msi_was_enabled = msi_enabled(pdev);
    uint64_t old = xai_pci_cap_base(pdev, &was_enabled);
    uint64_t base;

    pci_default_write_config(pdev, addr, val, len);
    base = xai_pci_cap_base(pdev, &enable);
    if (was_enabled && base != old) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: base address written while "
                      "enabled: ignored\n", TYPE_XEN_AMD_IOMMU_V2);
        base = old;
    }
    xai_pci_set_cap_base(pdev, base, enable);
    xai_pci_apply_base(XEN_AMD_IOMMU_V2(pdev), false);
    xai_pci_sync_msi(XEN_AMD_IOMMU_V2(pdev));
    if (!msi_was_enabled && msi_enabled(pdev)) {
        /* An edge dropped while MSI was off would never come again */
        xen_amd_iommu_v2_irq_resync(&XEN_AMD_IOMMU_V2(pdev)->engine);
        xen_amd_iommu_v2_deliver_irq(XEN_AMD_IOMMU_V2(pdev));
    }
}

static void xai_pci_init_capability(XenAmdIommuV2State *s)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    uint8_t *cap = pdev->config + XAI_CAP_OFFSET;
    uint32_t hdr;

    /* pci_add_capability() wrote the ID and next pointer. */
    hdr = pci_get_long(cap + XAI_CAP_HDR) & 0xffff;
    hdr |= XAI_CAP_HDR_TYPE | XAI_CAP_HDR_REV | XAI_CAP_HDR_IOTLBSUP |
           XAI_CAP_HDR_EFRSUP | XAI_CAP_HDR_CAPEXT;
    pci_set_long(cap + XAI_CAP_HDR, hdr);
    /* Every device function on the root bus; IVRS says what is covered. */
    pci_set_long(cap + XAI_CAP_RANGE, XAI_CAP_RANGE_VALID |
                 0x00u << XAI_CAP_RANGE_FIRST_SHIFT |
                 0xffu << XAI_CAP_RANGE_LAST_SHIFT);
    pci_set_long(cap + XAI_CAP_MISC0,
                 xen_amd_iommu_v2_address_sizes(&s->features));
    pci_set_long(cap + XAI_CAP_MISC1, 0);
    /* Base address and Enable are firmware's to set (and the guest's) */
    pci_set_long(pdev->wmask + XAI_CAP_OFFSET + XAI_CAP_BAR_LO,
                 XAI_CAP_BAR_LO_ADDR | XAI_CAP_BAR_LO_ENABLE);
    pci_set_long(pdev->wmask + XAI_CAP_OFFSET + XAI_CAP_BAR_HI, 0x000fffff);
    /*
     * Migration loads the writable bits as state; the reserved ones stay
     * checked (cmask), so a stream cannot set what no guest write can.
     */
}

static bool xai_pci_check_features(const XenAmdIommuV2Features *f,
                                   Error **errp)
{
    if (f->pasid_bits < 1 || f->pasid_bits > 20) {
        error_setg(errp, "pasid-bits must be 1 to 20, not %u", f->pasid_bits);
        return false;
    }
    if (f->host_levels < 4 || f->host_levels > 6) {
        error_setg(errp, "host-levels must be 4, 5 or 6, not %u",
                   f->host_levels);
        return false;
    }
    if (f->guest_levels < 4 || f->guest_levels > 5) {
        error_setg(errp, "guest-levels must be 4 or 5, not %u",
                   f->guest_levels);
        return false;
    }
    if (f->gcr3_levels < 1 || f->gcr3_levels > 2) {
        error_setg(errp, "gcr3-levels must be 1 or 2, not %u",
                   f->gcr3_levels);
        return false;
    }
    if (f->gio && !f->gt) {
        error_setg(errp, "gio=on needs guest translation (gt=on)");
        return false;
    }
    /*
     * Valid as hardware, but what Linux guests (6.1 to 6.12 at least) do
     * with it is worth a word: more than 16 PASID bits stop them at boot
     * (BUG_ON in iommu_init_pci()); PASIDs wider than the GCR3 table's
     * levels index make them refuse every PASID-capable device.
     */
    if (f->gt && f->pasid_bits > 16) {
        warn_report("%s: pasid-bits=%u: Linux guests stop at boot with "
                    "more than 16 PASID bits", TYPE_XEN_AMD_IOMMU_V2,
                    f->pasid_bits);
    }
    if (f->gt && f->pasid_bits > 9 * f->gcr3_levels) {
        warn_report("%s: gcr3-levels=%u indexes %u PASID bits, not the %u "
                    "of pasid-bits: PASIDs above fault, and Linux guests "
                    "give PASID-capable devices no domain",
                    TYPE_XEN_AMD_IOMMU_V2, f->gcr3_levels,
                    9 * f->gcr3_levels, f->pasid_bits);
    }
    if (f->eph && !f->ppr) {
        error_setg(errp, "eph=on needs PPR (ppr=on)");
        return false;
    }
    return true;
}

/*
 * The hypervisor's engine when it offers one (and fast-path allows),
 * else QEMU's own. No released Xen offers it: auto then says once that
 * QEMU's engine serves; fast-path=on fails.
 */
static bool xai_pci_choose_link(XenAmdIommuV2State *s, MemTxAttrs attrs,
                                Error **errp)
{
    static bool said;
    const char *why = xen_enabled() ? "fast-path=off"
                                    : "no hypervisor (accel=xen) to run it";
    int rc = 0;

    xen_amd_iommu_v2_link_init(&s->link, &xen_amd_iommu_v2_qemu_link,
                               &address_space_memory, attrs);
    if (s->fast_path != ON_OFF_AUTO_OFF && xen_enabled()) {
        rc = xen_amd_iommu_v2_xen_probe(&s->link, xai_pci_instances - 1,
                                        s->engine.efr, &why, errp);
        if (rc < 0) {
            return false;
        }
    }
    if (rc == 1) {
        error_setg(&s->migration_blocker, "%s: the hypervisor's fast path "
                   "holds the IOMMU's state, which cannot migrate",
                   TYPE_XEN_AMD_IOMMU_V2);
        if (migrate_add_blocker(&s->migration_blocker, errp) < 0) {
            return false;
        }
    }
    if (rc == 0 && s->fast_path == ON_OFF_AUTO_ON) {
        error_setg(errp, "fast-path=on: no hypervisor fast path is "
                   "available: %s", why);
        return false;
    }
    if (rc == 0 && xen_enabled() && !said) {
        info_report("%s: %s: QEMU's engine serves the IOMMU",
                    TYPE_XEN_AMD_IOMMU_V2, why);
        said = true;
    }
    return true;
}

/*
 * Page requests from the devices QEMU emulates, and from QMP: into the
 * guest's PPR log, which the hypervisor keeps once it has the fast path.
 */
bool xen_amd_iommu_v2_page_request(XenAmdIommuV2State *s,
                                   const XenAmdIommuV2PprRequest *req,
                                   Error **errp)
{
    uint64_t entry[2];

    if (!s->link.ops->inject_ppr) {
        bool ok = xen_amd_iommu_v2_ppr_request(&s->engine, req, errp);

        xen_amd_iommu_v2_deliver_irq(s);
        return ok;
    }
    return xen_amd_iommu_v2_ppr_encode(&s->engine, req, entry, errp) &&
           s->link.ops->inject_ppr(&s->link, entry, errp);
}

/* bind=GBDF=MACHINE[+...]: bindings given on the command line */
static bool xai_pci_bind_property(XenAmdIommuV2State *s, Error **errp)
{
    g_auto(GStrv) entries = NULL;
    int i;

    if (!s->binds || !*s->binds) {
        return true;
    }
    entries = g_strsplit(s->binds, "+", -1);
    for (i = 0; entries[i]; i++) {
        g_auto(GStrv) pair = g_strsplit(entries[i], "=", 2);
        XenAmdIommuV2Bdf b;
        uint16_t gseg;

        if (!*entries[i]) {
            continue;
        }
        if (!pair[0] || !pair[1]) {
            error_setg(errp, "bind: '%s' is not GUEST=MACHINE", entries[i]);
            return false;
        }
        if (!xen_amd_iommu_v2_parse_bdf(pair[0], &gseg, &b.guest_bdf, errp)) {
            error_prepend(errp, "bind: ");
            return false;
        }
        if (gseg) {
            error_setg(errp, "bind: guest device '%s': the IOMMU's segment "
                       "is 0", pair[0]);
            return false;
        }
        if (!xen_amd_iommu_v2_parse_bdf(pair[1], &b.machine_seg,
                                        &b.machine_bdf, errp) ||
            !xen_amd_iommu_v2_link_bind(&s->link, &b, true, errp)) {
            error_prepend(errp, "bind: ");
            return false;
        }
        xen_amd_iommu_v2_bound(s);
    }
    return true;
}

static bool xai_pci_base_taken(uint64_t base)
{
    guint i;

    for (i = 0; xai_pci_realized && i < xai_pci_realized->len; i++) {
        XenAmdIommuV2State *other = g_ptr_array_index(xai_pci_realized, i);

        if (other->mmio_base == base) {
            return true;
        }
    }
    return false;
}

/*
 * Each instance's registers get their own 16 KiB: the first free one from
 * FED8_0000h up unless mmio-base says where. Two windows at one address
 * would hide each other (and IVRS would list both there); one in the
 * interrupt window would be hidden by the local APICs.
 */
static bool xai_pci_place_window(XenAmdIommuV2State *s, Error **errp)
{
    uint64_t base;

    if (!s->mmio_base) {
        for (base = XAI_MMIO_BASE_DEFAULT;
             base < XAI_MSI_WINDOW_BASE && xai_pci_base_taken(base);
             base += XAI_MMIO_SIZE) {
            continue;
        }
        if (base >= XAI_MSI_WINDOW_BASE) {
            error_setg(errp, "no free register window below 0x%llx: "
                       "set mmio-base", XAI_MSI_WINDOW_BASE);
            return false;
        }
        s->mmio_base = base;
    }
    if (s->mmio_base & (XAI_MMIO_SIZE - 1) || s->mmio_base >> 52) {
        error_setg(errp, "mmio-base 0x%" PRIx64 " must be 16 KiB aligned "
                   "and below 2^52", s->mmio_base);
        return false;
    }
    if (s->mmio_base + XAI_MMIO_SIZE > XAI_MSI_WINDOW_BASE &&
        s->mmio_base <= XAI_MSI_WINDOW_END) {
        error_setg(errp, "mmio-base 0x%" PRIx64 " is in the interrupt "
                   "window 0x%llx-0x%llx", s->mmio_base, XAI_MSI_WINDOW_BASE,
                   XAI_MSI_WINDOW_END);
        return false;
    }
    if (xai_pci_base_taken(s->mmio_base)) {
        error_setg(errp, "mmio-base 0x%" PRIx64 " is another %s's",
                   s->mmio_base, TYPE_XEN_AMD_IOMMU_V2);
        return false;
    }
    return true;
}

static void xai_pci_find_vfio(PCIBus *bus, PCIDevice *dev, void *opaque)
{
    PCIDevice **found = opaque;

    if (!*found && object_dynamic_cast(OBJECT(dev), "vfio-pci")) {
        *found = dev;
    }
}

static void xai_pci_find_vfio_on_bus(PCIBus *bus, void *opaque)
{
    if (!bus->iommu_ops && !pci_bus_bypass_iommu(bus)) {
        pci_for_each_device_under_bus(bus, xai_pci_find_vfio, opaque);
    }
}

/*
 * vfio-pci realized before the IOMMU took the address space there was
 * then, system memory, and its container maps all guest RAM: its DMA
 * would bypass translation. (Those realized later are refused by
 * xai_pci_set_iommu_device().)
 */
static bool xai_pci_check_no_vfio(PCIBus *bus, Error **errp)
{
    ERRP_GUARD();       /* for the hint, also with &error_fatal */
    PCIDevice *vfio = NULL;

    pci_for_each_bus(bus, xai_pci_find_vfio_on_bus, &vfio);
    if (vfio) {
        xai_no_map_notifications(errp);
        error_append_hint(errp, "vfio-pci device at %02x:%02x.%x\n",
                          pci_dev_bus_num(vfio), PCI_SLOT(vfio->devfn),
                          PCI_FUNC(vfio->devfn));
        return false;
    }
    return true;
}

static void xai_pci_realize(PCIDevice *pdev, Error **errp)
{
    XenAmdIommuV2State *s = XEN_AMD_IOMMU_V2(pdev);
    MemTxAttrs attrs = { .requester_id = pci_requester_id(pdev) };
    int ret;

    if (!xai_pci_check_features(&s->features, errp)) {
        return;
    }
    /*
     * An IOMMU is part of the root complex. Behind a bridge, a guest
     * powering off the bridge's slot would unplug it with everything it
     * set up (address spaces in use, the hypervisor's window) alive.
     */
    if (!pci_bus_is_root(pci_get_bus(pdev))) {
        error_setg(errp, "%s must be on a root bus, not behind a bridge",
                   TYPE_XEN_AMD_IOMMU_V2);
        return;
    }
    if (!xai_pci_check_no_vfio(pci_get_bus(pdev), errp)) {
        return;
    }
    if (!xai_pci_place_window(s, errp)) {
        return;
    }
    xai_pci_instances++;

    pci_config_set_vendor_id(pdev->config, XAI_PCI_VENDOR_AMD);
    pci_config_set_device_id(pdev->config, s->device_id);
    pci_config_set_class(pdev->config, XAI_PCI_CLASS_IOMMU);
    pci_config_set_prog_interface(pdev->config, 0);

    ret = pci_add_capability(pdev, XAI_CAP_ID, XAI_CAP_OFFSET, XAI_CAP_SIZE,
                             errp);
    if (ret < 0) {
        return;
    }
    xai_pci_init_capability(s);
    if (msi_init(pdev, XAI_MSI_CAP_OFFSET, 1, true, false, errp) < 0) {
        return;
    }

    s->spaces = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    s->live_spaces = g_ptr_array_new();
    s->gone_spaces = g_ptr_array_new_with_free_func(g_free);
    /*
     * The engine's own traffic (commands, logs, stores, MSIs) is the
     * IOMMU's: never translated by itself, so it goes to system memory.
     */
    xen_amd_iommu_v2_engine_init(&s->engine, &s->features,
                                 &address_space_memory, attrs,
                                 &xai_pci_engine_ops, s);
    if (!xai_pci_choose_link(s, attrs, errp) ||
        !xai_pci_bind_property(s, errp)) {
        migrate_del_blocker(&s->migration_blocker);
        xen_amd_iommu_v2_engine_exit(&s->engine);
        g_hash_table_destroy(s->spaces);
        g_ptr_array_free(s->live_spaces, true);
        g_ptr_array_free(s->gone_spaces, true);
        msi_uninit(pdev);
        return;
    }

    s->irq_bh = qemu_bh_new_guarded(xai_pci_irq_bh, s,
                                    &DEVICE(s)->mem_reentrancy_guard);
    s->vm_state_change = qemu_add_vm_change_state_handler(
        xai_pci_vm_state_change, s);
    memory_region_init_io(&s->mmio, OBJECT(s), &xai_pci_mmio_ops, s,
                          "xen-amd-iommu-v2-mmio", XAI_MMIO_SIZE);

    /*
     * One IOMMU per bus: the first instance on a bus translates it (and
     * the buses below); another on the same bus only runs its engine.
     * Every device there translates, cold-plugged ones created before
     * the IOMMU too: QEMU sets up their DMA when the machine is done.
     */
    s->translating = !pci_get_bus(pdev)->iommu_ops;
    if (s->translating) {
        pci_setup_iommu(pci_get_bus(pdev), &xai_pci_iommu_ops, s);
        /* Passed-through devices, there already and hot-plugged later */
        s->passthrough = g_hash_table_new(NULL, NULL);
        s->device_listener.realize = xai_pci_device_realized;
        s->device_listener.unrealize = xai_pci_device_unrealized;
        device_listener_register(&s->device_listener);
    } else {
        warn_report("%s: bus %s already has an IOMMU: this instance "
                    "translates no devices", TYPE_XEN_AMD_IOMMU_V2,
                    BUS(pci_get_bus(pdev))->name);
    }
    if (!xai_pci_realized) {
        xai_pci_realized = g_ptr_array_new();
    }
    g_ptr_array_add(xai_pci_realized, s);
}

static void xai_pci_exit(PCIDevice *pdev)
{
    XenAmdIommuV2State *s = XEN_AMD_IOMMU_V2(pdev);

    if (s->mapped) {
        memory_region_del_subregion(get_system_memory(), &s->mmio);
        s->mapped = false;
    }
    if (s->passthrough) {
        device_listener_unregister(&s->device_listener);
        g_hash_table_destroy(s->passthrough);
        s->passthrough = NULL;
    }
    migrate_del_blocker(&s->migration_blocker);
    qemu_del_vm_change_state_handler(s->vm_state_change);
    s->vm_state_change = NULL;
    qemu_bh_delete(s->irq_bh);
    s->irq_bh = NULL;
    xen_amd_iommu_v2_engine_exit(&XEN_AMD_IOMMU_V2(pdev)->engine);
    msi_uninit(pdev);
    if (xai_pci_realized) {
        g_ptr_array_remove(xai_pci_realized, s);
    }
}

/*
 * The exit phase: devices reset after this one (those created before it)
 * finish their DMA in their enter or hold phases, still translated; and
 * the PCI bus resets MSI in its hold phase, after this device's own
 * (children come first): only now does the capability read as reset.
 */
static void xai_pci_reset_exit(Object *obj, ResetType type)
{
    XenAmdIommuV2State *s = XEN_AMD_IOMMU_V2(obj);

    xen_amd_iommu_v2_engine_reset(&s->engine);  /* no MSI pending now */
    /* Placed and enabled, as firmware leaves a real IOMMU. */
    xai_pci_set_cap_base(PCI_DEVICE(s), s->mmio_base, true);
    xai_pci_apply_base(s, true);
    xai_pci_sync_msi(s);
}

/* Whether the hypervisor's fast path holds the registers (said if so) */
static bool xai_pci_state_in_hypervisor(XenAmdIommuV2State *s)
{
    if (s->migration_blocker) {
        error_report_err(error_copy(s->migration_blocker));
        return true;
    }
    return false;
}

/*
 * With the hypervisor's fast path the registers live there: QEMU's engine
 * must stay idle, so a stream that would fill it is refused (the blocker
 * only stops outgoing migration).
 */
static int xai_pci_pre_load(void *opaque)
{
    return xai_pci_state_in_hypervisor(opaque) ? -ENOTSUP : 0;
}

static int xai_pci_post_load(void *opaque, int version_id)
{
    XenAmdIommuV2State *s = opaque;

    if (!xen_amd_iommu_v2_engine_post_load(&s->engine)) {
        error_report("%s: incoming register state does not fit this "
                     "device's features", TYPE_XEN_AMD_IOMMU_V2);
        /*
         * A failed loadvm leaves the machine stopped, and "cont" runs it:
         * with a consistent engine (off), not the stream's registers over
         * address spaces that never followed them.
         */
        xen_amd_iommu_v2_engine_reset(&s->engine);
        xai_pci_apply_base(s, false);
        xai_pci_sync_msi(s);
        return -EINVAL;
    }
    xai_pci_apply_base(s, false);
    xai_pci_sync_msi(s);
    /* An MSI the source had not sent goes once the machine runs */
    return 0;
}

/*
 * The blocker stops "migrate"; Xen saves a device model's state with
 * xen-save-devices-state, which does not look at blockers: refuse here.
 */
static int xai_pci_pre_save(void *opaque)
{
    return xai_pci_state_in_hypervisor(opaque) ? -EBUSY : 0;
}

static const VMStateDescription vmstate_xai_pci = {
    .name = TYPE_XEN_AMD_IOMMU_V2,
    .version_id = 1,
    .minimum_version_id = 1,
    /* Before the devices whose DMA it translates load their state */
    .priority = MIG_PRI_IOMMU,
    .pre_save = xai_pci_pre_save,
    .pre_load = xai_pci_pre_load,
    .post_load = xai_pci_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_PCI_DEVICE(parent_obj, XenAmdIommuV2State),
        VMSTATE_STRUCT(engine, XenAmdIommuV2State, 1,
                       vmstate_xen_amd_iommu_v2_engine, XenAmdIommuV2Engine),
        VMSTATE_END_OF_LIST()
    }
};

static const Property xai_pci_properties[] = {
    DEFINE_PROP_UINT16("device-id", XenAmdIommuV2State, device_id,
                       XAI_PCI_DEVICE_DEFAULT),
    DEFINE_PROP_UINT64("mmio-base", XenAmdIommuV2State, mmio_base, 0),
    DEFINE_PROP_ON_OFF_AUTO("fast-path", XenAmdIommuV2State, fast_path,
                            ON_OFF_AUTO_AUTO),
    DEFINE_PROP_STRING("bind", XenAmdIommuV2State, binds),
    DEFINE_PROP_BOOL("prefetch", XenAmdIommuV2State, features.prefetch, true),
    DEFINE_PROP_BOOL("ppr", XenAmdIommuV2State, features.ppr, true),
    DEFINE_PROP_BOOL("gt", XenAmdIommuV2State, features.gt, true),
    DEFINE_PROP_BOOL("ia", XenAmdIommuV2State, features.ia, true),
    DEFINE_PROP_BOOL("he", XenAmdIommuV2State, features.he, true),
    DEFINE_PROP_BOOL("gio", XenAmdIommuV2State, features.gio, true),
    DEFINE_PROP_BOOL("eph", XenAmdIommuV2State, features.eph, true),
    DEFINE_PROP_UINT8("pasid-bits", XenAmdIommuV2State, features.pasid_bits,
                      16),
    DEFINE_PROP_UINT8("host-levels", XenAmdIommuV2State,
                      features.host_levels, 6),
    DEFINE_PROP_UINT8("guest-levels", XenAmdIommuV2State,
                      features.guest_levels, 4),
    DEFINE_PROP_UINT8("gcr3-levels", XenAmdIommuV2State,
                      features.gcr3_levels, 2),
};

static const struct {
    const char *name;
    const char *desc;
} xai_pci_property_docs[] = {
    { "device-id", "PCI device ID (default 0x1419, Family 15h IOMMU)" },
    { "mmio-base", "guest-physical address of the registers, 16 KiB "
      "aligned (default: the first free 16 KiB from 0xfed80000)" },
    { "fast-path", "hypervisor fast path: on (required), off, or auto "
      "(use it when the hypervisor offers it)" },
    { "bind", "guest to machine BDFs for the fast path, "
      "'GBDF=SEG:BUS:DEV.FN+...'" },
    { "prefetch", "EFR.PreFSup: accept PREFETCH_IOMMU_PAGES" },
    { "ppr", "EFR.PPRSup: PPR log and COMPLETE_PPR_REQUEST" },
    { "gt", "EFR.GTSup: guest (PASID) translation" },
    { "ia", "EFR.IASup: INVALIDATE_IOMMU_ALL" },
    { "he", "EFR.HESup: hardware event registers" },
    { "gio", "EFR.GIOSup: guest I/O protection (needs gt)" },
    { "eph", "EFR.EPHSup: enhanced PPR handling (needs ppr)" },
    { "pasid-bits", "PASID width, 1-20 (EFR.PASmax + 1)" },
    { "host-levels", "host page-table levels, 4-6 (EFR.HATS)" },
    { "guest-levels", "guest page-table levels, 4-5 (EFR.GATS)" },
    { "gcr3-levels", "GCR3 table levels, 1-2 (EFR.GLXSup + 1)" },
};

static void xai_pci_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);
    ResettableClass *rc = RESETTABLE_CLASS(klass);
    int i;

    k->realize = xai_pci_realize;
    k->exit = xai_pci_exit;
    k->config_write = xai_pci_config_write;
    k->vendor_id = XAI_PCI_VENDOR_AMD;
    k->device_id = XAI_PCI_DEVICE_DEFAULT;
    k->class_id = XAI_PCI_CLASS_IOMMU;
    rc->phases.exit = xai_pci_reset_exit;
    dc->desc = "AMD IOMMUv2 for Xen HVM guests (PPR, PASID, guest translation)";
    dc->vmsd = &vmstate_xai_pci;
    dc->hotpluggable = false;
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    device_class_set_props(dc, xai_pci_properties);
    for (i = 0; i < ARRAY_SIZE(xai_pci_property_docs); i++) {
        object_class_property_set_description(klass,
                                              xai_pci_property_docs[i].name,
                                              xai_pci_property_docs[i].desc);
    }
}

static const TypeInfo xai_pci_info = {
    .name = TYPE_XEN_AMD_IOMMU_V2,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(XenAmdIommuV2State),
    .class_init = xai_pci_class_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_CONVENTIONAL_PCI_DEVICE },
        { },
    },
};

static void xai_iommu_memory_region_class_init(ObjectClass *klass,
                                               void *data)
{
    IOMMUMemoryRegionClass *imrc = IOMMU_MEMORY_REGION_CLASS(klass);

    imrc->translate = xai_iommu_translate;
    imrc->notify_flag_changed = xai_iommu_notify_flag_changed;
}

static const TypeInfo xai_iommu_memory_region_info = {
    .parent = TYPE_IOMMU_MEMORY_REGION,
    .name = TYPE_XAI_IOMMU_MEMORY_REGION,
    .class_init = xai_iommu_memory_region_class_init,
};

static void xai_pci_register_types(void)
{
    type_register_static(&xai_pci_info);
    type_register_static(&xai_iommu_memory_region_info);
}

type_init(xai_pci_register_types)
