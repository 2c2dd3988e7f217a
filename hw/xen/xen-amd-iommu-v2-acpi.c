/*
 * xen-amd-iommu-v2: ACPI IVRS (AMD IOMMU specification, chapter 5)
 *
 * QEMU rebuilds its ACPI tables when the firmware first reads them, which
 * is after the firmware has placed the PCI BARs: the IVHDs carry each
 * instance's register base as the firmware programmed it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bitmap.h"
#include "hw/acpi/aml-build.h"
#include "hw/pci/pci.h"
#include "hw/pci/pci_bus.h"
#include "hw/pci/pci_bridge.h"
#include "hw/xen/xen-amd-iommu-v2.h"
#include "hw/xen/xen-amd-iommu-v2-acpi.h"
#include "xen-amd-iommu-v2-bits.h"

#define IVHD_TYPE_10H           0x10
#define IVHD_TYPE_11H           0x11
#define IVHD_10H_HEADER_LEN     24
#define IVHD_11H_HEADER_LEN     40

/* IVHD flags (5.2.2.1) */
#define IVHD_F_IOTLB_SUP        BIT(4)
#define IVHD_F_COHERENT         BIT(5)
#define IVHD_F_PREF_SUP         BIT(6)      /* type 10h only */
#define IVHD_F_PPR_SUP          BIT(7)      /* type 10h only */

/* IVHD device entries (5.2.2.2) */
#define IVHD_DEV_SELECT         2
#define IVHD_DEV_RANGE_START    3
#define IVHD_DEV_RANGE_END      4

static int xai_acpi_collect(Object *obj, void *opaque)
{
    XenAmdIommuV2State *s = (XenAmdIommuV2State *)
        object_dynamic_cast(obj, TYPE_XEN_AMD_IOMMU_V2);
    GSList **list = opaque;
    bool decode = false;

    /* Those whose registers answer, in QEMU or in the hypervisor */
    if (s) {
        xen_amd_iommu_v2_base(s, &decode);
    }
    if (decode) {
        *list = g_slist_append(*list, s);
    }
    return 0;
}

static GSList *xai_acpi_instances(void)
{
    GSList *list = NULL;

    object_child_foreach_recursive(object_get_root(), xai_acpi_collect,
                                   &list);
    return list;
}

bool xen_amd_iommu_v2_acpi_present(void)
{
    g_autoptr(GSList) list = xai_acpi_instances();

    return list != NULL;
}

/* Feature reporting field of a type 10h IVHD, from the EFR (5.2.2.1) */
static uint32_t xai_acpi_feature_report(uint64_t efr)
{
    uint32_t r = 0;

    r |= (efr & XAI_EFR_XT_SUP) ? BIT(0) : 0;
    r |= (efr & XAI_EFR_NX_SUP) ? BIT(1) : 0;
    r |= (efr & XAI_EFR_GT_SUP) ? BIT(2) : 0;
    r |= extract64(efr, XAI_EFR_GLX_SHIFT, 2) << 3;
    r |= (efr & XAI_EFR_IA_SUP) ? BIT(5) : 0;
    r |= (efr & XAI_EFR_GA_SUP) ? BIT(6) : 0;
    r |= (efr & XAI_EFR_HE_SUP) ? BIT(7) : 0;
    r |= extract64(efr, XAI_EFR_PASMAX_SHIFT, 5) << 8;
    r |= extract64(efr, XAI_EFR_GATS_SHIFT, 2) << 28;
    r |= extract64(efr, XAI_EFR_HATS_SHIFT, 2) << 30;
    return r;
}

/*
 * Whether @s translates the devices of @bus: as QEMU finds a device's
 * IOMMU, the nearest bus up with one, unless the bus bypasses IOMMUs.
 * Expander root buses (pxb) are children of bus 0 and may have their
 * own IOMMU, or bypass.
 */
static bool xai_acpi_translates(XenAmdIommuV2State *s, PCIBus *bus)
{
    PCIBus *b = bus;

    if (pci_bus_bypass_iommu(bus)) {
        return false;
    }
    while (!b->iommu_ops && b->parent_dev) {
        b = pci_get_bus(b->parent_dev);
    }
    return b->iommu_ops && b->iommu_opaque == s;
}

typedef struct XaiAcpiBuses {
    XenAmdIommuV2State *s;
    DECLARE_BITMAP(nums, 256);
} XaiAcpiBuses;

/*
 * A bridge's bus numbers, also those not in use yet: the guest numbers a
 * switch hot-plugged under a root port from what firmware reserved there,
 * and Linux refuses device IDs beyond the IVRS's last. Only where the
 * instance translates what is behind the bridge.
 */
static void xai_acpi_mark_bridge(PCIBus *bus, PCIDevice *dev, void *opaque)
{
    XaiAcpiBuses *b = opaque;
    uint8_t sec = dev->config[PCI_SECONDARY_BUS];
    uint8_t sub = dev->config[PCI_SUBORDINATE_BUS];

    if (object_dynamic_cast(OBJECT(dev), TYPE_PCI_BRIDGE) &&
        xai_acpi_translates(b->s, pci_bridge_get_sec_bus(PCI_BRIDGE(dev))) &&
        sec && sec <= sub) {
        bitmap_set(b->nums, sec, sub - sec + 1);
    }
}

/* A bridge's bus that firmware has not numbered (yet) is no bus 0 */
static bool xai_acpi_numbered(PCIBus *bus)
{
    return pci_bus_is_root(bus) || pci_bus_num(bus);
}

static void xai_acpi_mark_bus(PCIBus *bus, void *opaque)
{
    XaiAcpiBuses *b = opaque;

    if (xai_acpi_numbered(bus) && xai_acpi_translates(b->s, bus)) {
        set_bit(pci_bus_num(bus), b->nums);
        pci_for_each_device_under_bus(bus, xai_acpi_mark_bridge, b);
    }
}

/* ... but not a bus under them that another IOMMU serves, or none */
static void xai_acpi_unmark_foreign_bus(PCIBus *bus, void *opaque)
{
    XaiAcpiBuses *b = opaque;

    if (xai_acpi_numbered(bus) && !xai_acpi_translates(b->s, bus)) {
        clear_bit(pci_bus_num(bus), b->nums);
    }
}

static void xai_acpi_entry(GArray *entries, int type, uint16_t devid)
{
    build_append_int_noprefix(entries, type, 1);
    build_append_int_noprefix(entries, devid, 2);
    build_append_int_noprefix(entries, 0, 1);       /* DTE setting */
}

/*
 * The devices an instance translates: those of the buses it serves,
 * numbered by now (the tables are built after firmware ran), in ranges
 * of whole buses. A tight list matters: Linux sets up every device ID
 * it is given, and a bus another IOMMU serves (or none) must not be
 * claimed. An instance that serves no bus names itself, as Linux wants
 * at least one device per IVHD.
 */
static GArray *xai_acpi_device_entries(XenAmdIommuV2State *s)
{
    GArray *entries = g_array_new(false, true, 1);
    XaiAcpiBuses buses = { .s = s };
    unsigned long first, last;

    if (s->translating) {
        pci_for_each_bus(pci_get_bus(PCI_DEVICE(s)), xai_acpi_mark_bus,
                         &buses);
        pci_for_each_bus(pci_get_bus(PCI_DEVICE(s)),
                         xai_acpi_unmark_foreign_bus, &buses);
    }
    for (first = find_first_bit(buses.nums, 256); first < 256;
         first = find_next_bit(buses.nums, 256, last)) {
        last = find_next_zero_bit(buses.nums, 256, first);
        xai_acpi_entry(entries, IVHD_DEV_RANGE_START,
                       PCI_BUILD_BDF(first, 0));
        xai_acpi_entry(entries, IVHD_DEV_RANGE_END,
                       PCI_BUILD_BDF(last - 1, 0xff));
    }
    if (!entries->len) {
        xai_acpi_entry(entries, IVHD_DEV_SELECT,
                       pci_requester_id(PCI_DEVICE(s)));
    }
    return entries;
}

static void xai_acpi_ivhd(GArray *table, XenAmdIommuV2State *s, int type)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    uint64_t efr = s->engine.efr;
    bool decode;
    g_autoptr(GArray) entries = xai_acpi_device_entries(s);
    uint8_t flags = IVHD_F_IOTLB_SUP | IVHD_F_COHERENT;
    int header = type == IVHD_TYPE_10H ? IVHD_10H_HEADER_LEN
                                       : IVHD_11H_HEADER_LEN;

    if (type == IVHD_TYPE_10H) {
        flags |= (efr & XAI_EFR_PREF_SUP) ? IVHD_F_PREF_SUP : 0;
        flags |= (efr & XAI_EFR_PPR_SUP) ? IVHD_F_PPR_SUP : 0;
    }
    build_append_int_noprefix(table, type, 1);
    build_append_int_noprefix(table, flags, 1);
    build_append_int_noprefix(table, header + entries->len, 2);
    build_append_int_noprefix(table, pci_requester_id(pdev), 2);
    build_append_int_noprefix(table, XAI_CAP_OFFSET, 2);
    build_append_int_noprefix(table, xen_amd_iommu_v2_base(s, &decode), 8);
    build_append_int_noprefix(table, 0, 2);         /* PCI segment */
    build_append_int_noprefix(table, 0, 2);         /* info: MSI 0 */
    if (type == IVHD_TYPE_10H) {
        build_append_int_noprefix(table, xai_acpi_feature_report(efr), 4);
    } else {
        build_append_int_noprefix(table, 0, 4);     /* attributes */
        build_append_int_noprefix(table, efr, 8);   /* EFR image */
        build_append_int_noprefix(table, 0, 8);     /* EFR2 image */
    }
    g_array_append_vals(table, entries->data, entries->len);
}

/* An address size field of IVinfo: the smallest any instance offers */
static uint32_t xai_acpi_min_size(GSList *list, int shift, int len)
{
    uint32_t min = MAKE_64BIT_MASK(0, len);
    GSList *l;

    for (l = list; l; l = l->next) {
        XenAmdIommuV2State *s = l->data;

        min = MIN(min, extract32(xen_amd_iommu_v2_address_sizes(&s->features),
                                 shift, len));
    }
    return min << shift;
}

void xen_amd_iommu_v2_build_ivrs(GArray *table_data, BIOSLinker *linker,
                                 const char *oem_id, const char *oem_table_id)
{
    g_autoptr(GSList) list = xai_acpi_instances();
    AcpiTable table = { .sig = "IVRS", .rev = 2, .oem_id = oem_id,
                        .oem_table_id = oem_table_id };
    GSList *l;

    acpi_table_begin(&table, table_data);
    /* IVinfo: EFRSup, and the address sizes every instance offers */
    build_append_int_noprefix(table_data, BIT(0) |
                              xai_acpi_min_size(list, XAI_SIZES_GVA_SHIFT, 3) |
                              xai_acpi_min_size(list, XAI_SIZES_PA_SHIFT, 7) |
                              xai_acpi_min_size(list, XAI_SIZES_VA_SHIFT, 7),
                              4);
    build_append_int_noprefix(table_data, 0, 8);    /* reserved */
    /* Linux uses the highest IVHD type it knows: 11h carries the EFR. */
    for (l = list; l; l = l->next) {
        xai_acpi_ivhd(table_data, l->data, IVHD_TYPE_10H);
        xai_acpi_ivhd(table_data, l->data, IVHD_TYPE_11H);
    }
    acpi_table_end(linker, &table);
}
