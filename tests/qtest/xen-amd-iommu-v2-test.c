/*
 * QTest for xen-amd-iommu-v2: what a guest IOMMU driver sees
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "libqos/pci-pc.h"
#include "libqos/fw_cfg.h"
#include "libqos/xen-amd-iommu-v2.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "qobject/qnum.h"
#include "hw/pci/pci_regs.h"
#include "qemu/bitops.h"
#include "qemu/bitmap.h"
#include "qemu/bswap.h"

#define DEVFN QPCI_DEVFN(4, 0)
#define LOG2_ENTRIES 8
#define MSI_DATA 0x4a51

/* EFR of the default device, from the specification's field positions */
#define EFR_DEFAULT (1ULL << 0 | 1ULL << 1 | 1ULL << 4 | 1ULL << 6 | \
                     1ULL << 8 | 2ULL << 10 | 1ULL << 14 | 15ULL << 32 | \
                     1ULL << 48 | 1ULL << 50)

static QXenAmdIommuV2 *start_q35(void)
{
    return qxai_start("q35", NULL, NULL);
}

/*
 * Rings of 256 entries, IOMMU, command buffer and both logs running;
 * @extra: more QEMU arguments or NULL
 */
static QXenAmdIommuV2 *start_running_extra(const char *dev_opts,
                                           const char *extra)
{
    QXenAmdIommuV2 *x = qxai_start("q35", dev_opts, extra);

    qxai_setup_rings(x, LOG2_ENTRIES);
    qxai_control_set(x, QXAI_CTRL_IOMMU_EN | QXAI_CTRL_CMD_BUF_EN |
                     QXAI_CTRL_EVT_LOG_EN | QXAI_CTRL_PPR_LOG_EN |
                     QXAI_CTRL_PPR_EN);
    g_assert_cmphex(qxai_readq(x, QXAI_STATUS) &
                    (QXAI_ST_CMD_RUN | QXAI_ST_EVT_RUN | QXAI_ST_PPR_RUN),
                    ==, QXAI_ST_CMD_RUN | QXAI_ST_EVT_RUN | QXAI_ST_PPR_RUN);
    return x;
}

static QXenAmdIommuV2 *start_running_with(const char *dev_opts)
{
    return start_running_extra(dev_opts, NULL);
}

/*
 * QEMU arguments that log guest errors (-d guest_errors) to a new file,
 * whose name goes in *@path; guest_logged() looks for a message there
 */
static char *guest_log_args(char **path)
{
    int fd = g_file_open_tmp("xai-guest-errors-XXXXXX.log", path, NULL);

    g_assert_cmpint(fd, >=, 0);
    close(fd);
    return g_strdup_printf("-d guest_errors -D %s", *path);
}

static bool guest_logged(const char *path, const char *what)
{
    g_autofree char *log = NULL;

    g_assert(g_file_get_contents(path, &log, NULL, NULL));
    return strstr(log, what) != NULL;
}

static QXenAmdIommuV2 *start_running(void)
{
    return start_running_with(NULL);
}

static uint32_t ring_ptr(QXenAmdIommuV2 *x, uint64_t reg)
{
    return qxai_readq(x, reg) >> 4;
}

/* Program MSI to write MSI_DATA into a guest RAM word; return its address */
static uint64_t msi_to_ram(QXenAmdIommuV2 *x)
{
    uint8_t msi = qpci_find_capability(x->dev, PCI_CAP_ID_MSI, 0);
    uint64_t addr = guest_alloc(&x->alloc, 4096);

    g_assert(msi);
    qtest_writel(x->qts, addr, 0);
    qpci_config_writel(x->dev, msi + PCI_MSI_ADDRESS_LO, (uint32_t)addr);
    qpci_config_writel(x->dev, msi + PCI_MSI_ADDRESS_HI, addr >> 32);
    qpci_config_writew(x->dev, msi + PCI_MSI_DATA_64, MSI_DATA);
    qpci_config_writew(x->dev, msi + PCI_MSI_FLAGS,
                       qpci_config_readw(x->dev, msi + PCI_MSI_FLAGS) |
                       PCI_MSI_FLAGS_ENABLE);
    return addr;
}

static QDict *query_device(QXenAmdIommuV2 *x)
{
    QDict *rsp = qtest_qmp(x->qts, "{'execute': 'query-xen-amd-iommu-v2'}");
    QList *list = qdict_get_qlist(rsp, "return");
    QDict *info;

    g_assert(list);
    g_assert_cmpint(qlist_size(list), ==, 1);
    info = qobject_to(QDict, qlist_peek(list));
    qobject_ref(info);
    qobject_unref(rsp);
    return info;
}

static uint64_t dict_uint(QDict *d, const char *key)
{
    QNum *n = qobject_to(QNum, qdict_get(d, key));

    g_assert(n);
    return qnum_get_uint(n);
}

static uint64_t command_count(QXenAmdIommuV2 *x, unsigned opcode)
{
    QDict *info = query_device(x);
    QList *cmds = qdict_get_qlist(info, "commands");
    QListEntry *e;
    uint64_t n = 0;
    unsigned i = 0;

    QLIST_FOREACH_ENTRY(cmds, e) {
        if (i++ == opcode) {
            n = qnum_get_uint(qobject_to(QNum, qlist_entry_obj(e)));
        }
    }
    qobject_unref(info);
    return n;
}

static uint64_t info_uint(QXenAmdIommuV2 *x, const char *key)
{
    QDict *info = query_device(x);
    uint64_t v = dict_uint(info, key);

    qobject_unref(info);
    return v;
}

static bool info_bool(QXenAmdIommuV2 *x, const char *key)
{
    QDict *info = query_device(x);
    bool v = qdict_get_bool(info, key);

    qobject_unref(info);
    return v;
}

static QDict *inject_ppr(QXenAmdIommuV2 *x, uint16_t devid, int64_t pasid,
                         uint16_t tag, uint16_t flags, uint64_t addr)
{
    if (pasid < 0) {
        return qtest_qmp(x->qts, "{'execute': 'xen-amd-iommu-v2-inject-ppr',"
                         " 'arguments': {'devid': %u, 'tag': %u, "
                         "'flags': %u, 'address': %" PRIu64 "}}",
                         devid, tag, flags, addr);
    }
    return qtest_qmp(x->qts, "{'execute': 'xen-amd-iommu-v2-inject-ppr',"
                     " 'arguments': {'devid': %u, 'pasid': %" PRId64 ","
                     " 'tag': %u, 'flags': %u, 'address': %" PRIu64 "}}",
                     devid, pasid, tag, flags, addr);
}

/* PCI function and capability block */

static void check_config(QXenAmdIommuV2 *x, uint16_t device_id)
{
    uint8_t cap = qpci_find_capability(x->dev, QXAI_CAP_ID, 0);
    uint8_t msi = qpci_find_capability(x->dev, PCI_CAP_ID_MSI, 0);
    uint32_t hdr, misc;

    g_assert_cmphex(qpci_config_readw(x->dev, PCI_VENDOR_ID), ==, 0x1022);
    g_assert_cmphex(qpci_config_readw(x->dev, PCI_DEVICE_ID), ==, device_id);
    g_assert_cmphex(qpci_config_readw(x->dev, PCI_CLASS_DEVICE), ==, 0x0806);
    g_assert(cap);
    hdr = qpci_config_readl(x->dev, cap);
    g_assert_cmphex((hdr >> 16) & 7, ==, 3);        /* CapType: IOMMU */
    g_assert_cmphex((hdr >> 19) & 0x1f, ==, 1);     /* CapRev */
    g_assert(hdr & (1u << 24));                     /* IotlbSup */
    g_assert(hdr & (1u << 27));                     /* EFRSup */
    g_assert(hdr & (1u << 28));                     /* CapExt */
    misc = qpci_config_readl(x->dev, cap + 0x10);
    g_assert_cmpuint(misc & 0x1f, ==, 0);           /* MsiNum */
    g_assert_cmpuint((misc >> 5) & 7, ==, 2);       /* GVAsize 48 */
    g_assert_cmpuint((misc >> 8) & 0x7f, ==, 52);   /* PAsize */
    g_assert_cmpuint((misc >> 15) & 0x7f, ==, 64);  /* VAsize: 6 levels */
    /* One 64-bit MSI capability, and only one */
    g_assert(msi);
    g_assert(qpci_config_readw(x->dev, msi + PCI_MSI_FLAGS) &
             PCI_MSI_FLAGS_64BIT);
    g_assert_cmpuint(qpci_find_capability(x->dev, PCI_CAP_ID_MSI, msi), ==,
                     0);
}

static void test_config_q35(void)
{
    QXenAmdIommuV2 *x = start_q35();

    check_config(x, 0x1419);
    qxai_stop(x);
}

static void test_config_pc(void)
{
    QXenAmdIommuV2 *x = qxai_start("pc", "device-id=0x1451", NULL);

    check_config(x, 0x1451);
    g_assert_cmphex(qxai_readq(x, QXAI_EFR), ==, EFR_DEFAULT);
    qxai_stop(x);
}

static void test_two_instances(void)
{
    QTestState *qts = qtest_init("-M q35 -nodefaults "
                                 "-device xen-amd-iommu-v2,id=a,addr=04.0 "
                                 "-device xen-amd-iommu-v2,id=b,addr=05.0,"
                                 "ppr=off,eph=off");
    QXenAmdIommuV2 *a = qxai_attach(qts, QPCI_DEVFN(4, 0), true);
    QXenAmdIommuV2 sibling = { .qts = qts, .bus = a->bus };
    QXenAmdIommuV2 *b = &sibling;
    QDict *rsp;

    /* The second device on the same bus, so the BARs do not collide */
    b->dev = qpci_device_find(a->bus, QPCI_DEVFN(5, 0));
    g_assert(b->dev);
    qpci_device_enable(b->dev);
    qxai_find_registers(b);

    /* Each at its own default base, each with its own features */
    g_assert_cmphex(a->bar.addr, ==, 0xfed80000);
    g_assert_cmphex(b->bar.addr, ==, 0xfed84000);
    g_assert_cmphex(qxai_readq(a, QXAI_EFR) & 2, ==, 2);
    g_assert_cmphex(qxai_readq(b, QXAI_EFR) & 2, ==, 0);
    rsp = qtest_qmp(qts, "{'execute': 'query-xen-amd-iommu-v2'}");
    g_assert_cmpint(qlist_size(qdict_get_qlist(rsp, "return")), ==, 2);
    qobject_unref(rsp);
    /*
     * Without an id, injection is ambiguous and refused, even where one
     * instance could take it; with the id it goes to that one
     */
    qxai_setup_rings(a, LOG2_ENTRIES);
    qxai_control_set(a, QXAI_CTRL_IOMMU_EN | QXAI_CTRL_PPR_LOG_EN |
                     QXAI_CTRL_PPR_EN);
    rsp = qtest_qmp(qts, "{'execute': 'xen-amd-iommu-v2-inject-ppr', "
                    "'arguments': {'devid': 1, 'tag': 1, 'flags': 0, "
                    "'address': 4096}}");
    g_assert(qdict_haskey(rsp, "error"));
    g_assert_nonnull(strstr(qdict_get_str(qdict_get_qdict(rsp, "error"),
                                          "desc"), "say which"));
    qobject_unref(rsp);
    g_assert_cmpuint(ring_ptr(a, QXAI_PPR_TAIL), ==, 0);
    rsp = qtest_qmp(qts, "{'execute': 'xen-amd-iommu-v2-inject-ppr', "
                    "'arguments': {'id': 'a', 'devid': 1, 'tag': 1, "
                    "'flags': 0, 'address': 4096}}");
    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    g_assert_cmpuint(ring_ptr(a, QXAI_PPR_TAIL), ==, 1);
    g_free(b->dev);
    qxai_stop(a);
}

/* A default window goes where no other instance's is */
static void test_window_placement(void)
{
    QTestState *qts = qtest_init("-M q35 -nodefaults "
                                 "-device xen-amd-iommu-v2,addr=04.0,"
                                 "mmio-base=0xfed84000 "
                                 "-device xen-amd-iommu-v2,addr=05.0");
    QXenAmdIommuV2 *a = qxai_attach(qts, QPCI_DEVFN(4, 0), true);
    QXenAmdIommuV2 sibling = { .qts = qts, .bus = a->bus };

    sibling.dev = qpci_device_find(a->bus, QPCI_DEVFN(5, 0));
    g_assert(sibling.dev);
    qpci_device_enable(sibling.dev);
    qxai_find_registers(&sibling);
    g_assert_cmphex(a->bar.addr, ==, 0xfed84000);
    g_assert_cmphex(sibling.bar.addr, ==, 0xfed80000);
    /* each answers at its own: the EFRs read as offered */
    g_assert_cmphex(qxai_readq(a, QXAI_EFR), ==, EFR_DEFAULT);
    g_assert_cmphex(qxai_readq(&sibling, QXAI_EFR), ==, EFR_DEFAULT);
    g_free(sibling.dev);
    qxai_stop(a);
}

/*
 * The IVRS as the guest reads it (fw_cfg etc/acpi/tables): for each type
 * 11h IVHD (the one Linux uses), which bus numbers its device entries
 * cover, and whether it names only itself (a select entry).
 */
typedef struct IvhdSeen {
    uint16_t devid;
    DECLARE_BITMAP(buses, 256);
    bool self_only;
    uint32_t ivinfo;        /* the table's, in each */
} IvhdSeen;

static int read_ivrs(QTestState *qts, IvhdSeen *seen, int max)
{
    QFWCFG *fw = pc_fw_cfg_init(qts);
    size_t size = 256 * 1024, len;
    g_autofree uint8_t *blob = g_malloc0(size);
    uint8_t *ivrs = NULL, *p, *end;
    int n = 0;

    len = qfw_cfg_get_file(fw, "etc/acpi/tables", blob, size);
    g_assert_cmpuint(len, >, 0);
    g_assert_cmpuint(len, <=, size);
    for (p = blob; p + 8 <= blob + len; p++) {
        if (!memcmp(p, "IVRS", 4) && p + ldl_le_p(p + 4) <= blob + len) {
            ivrs = p;
            break;
        }
    }
    g_assert(ivrs);
    end = ivrs + ldl_le_p(ivrs + 4);
    for (p = ivrs + 48; p + 4 <= end; p += lduw_le_p(p + 2)) {
        uint8_t *e;

        g_assert_cmpuint(lduw_le_p(p + 2), >=, 24);
        if (p[0] != 0x11) {
            continue;
        }
        g_assert_cmpint(n, <, max);
        memset(&seen[n], 0, sizeof(seen[n]));
        seen[n].devid = lduw_le_p(p + 4);
        seen[n].ivinfo = ldl_le_p(ivrs + 36);
        for (e = p + 40; e < p + lduw_le_p(p + 2); e += 4) {
            if (e[0] == 2) {
                seen[n].self_only = lduw_le_p(e + 1) == seen[n].devid;
            } else if (e[0] == 3) {
                int first = lduw_le_p(e + 1) >> 8, last, b;

                g_assert_cmpuint(e[4], ==, 4);
                last = lduw_le_p(e + 5) >> 8;
                for (b = first; b <= last; b++) {
                    set_bit(b, seen[n].buses);
                }
                e += 4;
            }
        }
        n++;
    }
    pc_fw_cfg_uninit(fw);
    return n;
}

/*
 * Each instance's IVHD names what it translates and nothing else: a
 * second instance on a bus names only itself (Linux gives up on every
 * IOMMU when an IVHD has no device); an expander's root bus is the
 * IOMMU's below it, unless it bypasses IOMMUs.
 */
static void test_ivrs_ranges(void)
{
    QTestState *qts = qtest_init("-M pc -nodefaults "
        "-device pxb,id=pxb1,bus_nr=0x40,bus=pci.0,addr=10.0 "
        "-device pxb,id=pxb2,bus_nr=0x80,bus=pci.0,addr=11.0,"
        "bypass_iommu=on "
        "-device pci-bridge,chassis_nr=1,bus=pci.0,addr=06.0 "
        "-device xen-amd-iommu-v2,bus=pci.0,addr=04.0 "
        "-device xen-amd-iommu-v2,bus=pci.0,addr=05.0");
    QPCIBus *pcibus = qpci_new_pc(qts, NULL);
    QPCIDevice *bridge = qpci_device_find(pcibus, QPCI_DEVFN(6, 0));
    IvhdSeen seen[4] = { 0 };
    int n, i;

    /*
     * Firmware numbers the bridge's bus 1 and keeps 2-4 for what may be
     * plugged below it later: the IOMMU on bus 0 covers all of them
     */
    g_assert(bridge);
    qpci_config_writeb(bridge, PCI_SECONDARY_BUS, 1);
    qpci_config_writeb(bridge, PCI_SUBORDINATE_BUS, 4);
    n = read_ivrs(qts, seen, ARRAY_SIZE(seen));

    g_assert_cmpint(n, ==, 2);
    g_assert_cmphex(seen[0].devid, !=, seen[1].devid);
    for (i = 0; i < n; i++) {
        switch (seen[i].devid) {
        case 0x0020:        /* 00:04.0: buses 0-4 and 40h */
            g_assert(test_bit(0, seen[i].buses));
            g_assert_cmpint(find_next_zero_bit(seen[i].buses, 256, 0), ==,
                            5);
            g_assert(test_bit(0x40, seen[i].buses));
            g_assert_false(test_bit(0x80, seen[i].buses));
            g_assert_false(seen[i].self_only);
            break;
        case 0x0028:        /* 00:05.0, the bus's second: itself */
            g_assert(seen[i].self_only);
            g_assert_cmpint(find_first_bit(seen[i].buses, 256), ==, 256);
            break;
        default:
            g_assert_not_reached();
        }
    }
    g_free(bridge);
    qpci_free_pc(pcibus);
    qtest_quit(qts);
}

/*
 * The address sizes an instance offers (its capability's MISC0) follow
 * its levels: guest virtual 57 bits with 5 guest levels (GVAsize 011b),
 * DMA virtual what its host levels map; the IVRS gives those all offer.
 */
static void test_address_sizes(void)
{
    QTestState *qts = qtest_init("-M q35 -nodefaults "
                                 "-device xen-amd-iommu-v2,addr=04.0,"
                                 "guest-levels=5,host-levels=5 "
                                 "-device xen-amd-iommu-v2,addr=05.0,"
                                 "host-levels=4");
    QXenAmdIommuV2 *a = qxai_attach(qts, QPCI_DEVFN(4, 0), true);
    QPCIDevice *b = qpci_device_find(a->bus, QPCI_DEVFN(5, 0));
    uint8_t cap = qpci_find_capability(a->dev, QXAI_CAP_ID, 0);
    IvhdSeen seen[2];
    uint32_t misc;

    g_assert(b);
    misc = qpci_config_readl(a->dev, cap + 0x10);
    g_assert_cmpuint((misc >> 5) & 7, ==, 3);
    g_assert_cmpuint((misc >> 8) & 0x7f, ==, 52);
    g_assert_cmpuint((misc >> 15) & 0x7f, ==, 57);
    misc = qpci_config_readl(b, cap + 0x10);
    g_assert_cmpuint((misc >> 5) & 7, ==, 2);
    g_assert_cmpuint((misc >> 15) & 0x7f, ==, 48);
    g_assert_cmpint(read_ivrs(qts, seen, ARRAY_SIZE(seen)), ==, 2);
    g_assert_cmphex(seen[0].ivinfo & 0x3fffff, ==,
                    1 | 2 << 5 | 52 << 8 | 48 << 15);
    g_free(b);
    qxai_stop(a);
}

static void test_bad_properties(void)
{
    static const struct {
        const char *opts;
        const char *message;
    } bad[] = {
        { "pasid-bits=0", "pasid-bits must be 1 to 20" },
        { "pasid-bits=21", "pasid-bits must be 1 to 20" },
        { "host-levels=3", "host-levels must be 4, 5 or 6" },
        { "host-levels=7", "host-levels must be 4, 5 or 6" },
        { "guest-levels=6", "guest-levels must be 4 or 5" },
        { "gcr3-levels=3", "gcr3-levels must be 1 or 2" },
        { "gt=off", "gio=on needs guest translation" },
        { "ppr=off", "eph=on needs PPR" },
        { "mmio-base=0xfed81000", "must be 16 KiB aligned" },
        { "mmio-base=0xfee04000", "is in the interrupt window" },
        { "bus=rp", "must be on a root bus" },
        { "mmio-base=0xfedfc000 -device xen-amd-iommu-v2,mmio-base=0xfedfc000",
          "is another xen-amd-iommu-v2's" },
        { "fast-path=on", "no hypervisor fast path is available" },
        { "bind=00:05.0", "is not GUEST=MACHINE" },
        { "bind=00:05.0=0000:03:20.0", "is out of range" },
        { "bind=0001:00:05.0=0000:03:00.0", "the IOMMU's segment is 0" },
        /* the requester's own bound */
        { "id=i0 -device xen-amd-iommu-v2-requester,iommu=i0,repeat-max=0",
          "repeat-max must be 1 to 65536" },
        { "id=i0 -device xen-amd-iommu-v2-requester,iommu=i0,"
          "repeat-max=65537", "repeat-max must be 1 to 65536" },
        /* a requester's PASID DMA goes to the IOMMU that translates it */
        { "id=i0 -device xen-amd-iommu-v2,id=i1,addr=05.0 "
          "-device xen-amd-iommu-v2-requester,iommu=i1",
          "iommu=i1 does not translate this device" },
    };
    int i;

    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        g_autofree char *cmd = g_strdup_printf(
            "timeout -s KILL 60 %s -M q35 -nodefaults -display none "
            "-accel qtest -device pcie-root-port,id=rp,chassis=9,addr=1e.0 "
            "-device xen-amd-iommu-v2,%s",
            getenv("QTEST_QEMU_BINARY"), bad[i].opts);
        g_autofree char *out = NULL;
        g_autofree char *err = NULL;
        int status;

        g_assert(g_spawn_command_line_sync(cmd, &out, &err, &status, NULL));
        g_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0);
        g_assert_nonnull(strstr(err, bad[i].message));
    }
}

/* Register window: no BAR; the capability's base registers place it */

static void test_base_address(void)
{
    QXenAmdIommuV2 *x = qxai_start("q35", "mmio-base=0xfed90000", NULL);
    uint8_t cap = qpci_find_capability(x->dev, QXAI_CAP_ID, 0);
    uint64_t base = 0xfed90000, moved = 0xfeda0000;
    int i;

    /* No BAR at all: the PCI core must never move the registers */
    for (i = 0; i < 6; i++) {
        qpci_config_writel(x->dev, PCI_BASE_ADDRESS_0 + 4 * i, 0xffffffff);
        g_assert_cmphex(qpci_config_readl(x->dev,
                                          PCI_BASE_ADDRESS_0 + 4 * i), ==, 0);
    }
    /* Firmware's placement, enabled; the registers answer there */
    g_assert_cmphex(qpci_config_readl(x->dev, cap + 4), ==, base | 1);
    g_assert_cmphex(qpci_config_readl(x->dev, cap + 8), ==, 0);
    g_assert_cmphex(qtest_readq(x->qts, base + QXAI_EFR), ==, EFR_DEFAULT);
    g_assert_cmphex(info_uint(x, "base"), ==, base);
    g_assert(info_bool(x, "decode"));

    /* Locked while enabled */
    qpci_config_writel(x->dev, cap + 4, moved | 1);
    g_assert_cmphex(qpci_config_readl(x->dev, cap + 4), ==, base | 1);
    g_assert_cmphex(qtest_readq(x->qts, base + QXAI_EFR), ==, EFR_DEFAULT);

    /* Disabled: no decode; moved and enabled: decode at the new place */
    qpci_config_writel(x->dev, cap + 4, base);
    g_assert_cmphex(qtest_readq(x->qts, base + QXAI_EFR), ==, 0);
    qpci_config_writel(x->dev, cap + 4, moved);
    g_assert_cmphex(info_uint(x, "base"), ==, moved);     /* what it says */
    g_assert_false(info_bool(x, "decode"));
    qpci_config_writel(x->dev, cap + 4, moved | 1);
    g_assert_cmphex(qtest_readq(x->qts, moved + QXAI_EFR), ==, EFR_DEFAULT);
    g_assert_cmphex(qtest_readq(x->qts, base + QXAI_EFR), ==, 0);
    g_assert_cmphex(info_uint(x, "base"), ==, moved);
    g_assert(info_bool(x, "decode"));

    /* Reset puts it back where firmware placed it */
    qtest_system_reset(x->qts);
    g_assert_cmphex(qtest_readq(x->qts, base + QXAI_EFR), ==, EFR_DEFAULT);
    qxai_stop(x);
}

/* Register file: reset values, writable masks, W1C, access sizes */

static void test_reset_values(void)
{
    QXenAmdIommuV2 *x = start_q35();
    static const uint64_t zero_regs[] = {
        QXAI_DEVTAB_BASE, QXAI_CMD_BASE, QXAI_EVT_BASE, QXAI_CONTROL,
        QXAI_EXCL_BASE, QXAI_EXCL_LIMIT, QXAI_PPR_BASE, QXAI_CMD_HEAD,
        QXAI_CMD_TAIL, QXAI_EVT_HEAD, QXAI_EVT_TAIL, QXAI_STATUS,
        QXAI_PPR_HEAD, QXAI_PPR_TAIL,
    };
    uint64_t accesses = info_uint(x, "register-accesses");
    int i;

    for (i = 0; i < ARRAY_SIZE(zero_regs); i++) {
        g_assert_cmphex(qxai_readq(x, zero_regs[i]), ==, 0);
    }
    /* QEMU's engine served each of them (QMP counts it) */
    g_assert_cmpuint(info_uint(x, "register-accesses"), ==,
                     accesses + ARRAY_SIZE(zero_regs));
    g_assert_cmphex(qxai_readq(x, QXAI_EFR), ==, EFR_DEFAULT);

    /* A system reset brings everything back */
    qxai_writeq(x, QXAI_DEVTAB_BASE, 0x12345000 | 0x1ff);
    qxai_writeq(x, QXAI_CONTROL, QXAI_CTRL_EVT_INT_EN);
    qtest_system_reset(x->qts);
    g_assert_cmphex(qxai_readq(x, QXAI_DEVTAB_BASE), ==, 0);
    g_assert_cmphex(qxai_readq(x, QXAI_CONTROL), ==, 0);
    qxai_stop(x);
}

static void test_write_masks(void)
{
    QXenAmdIommuV2 *x = start_q35();
    static const struct {
        uint64_t reg;
        uint64_t mask;
    } regs[] = {
        { QXAI_DEVTAB_BASE, 0x000ffffffffff1ffULL },
        { QXAI_CMD_BASE,    0x0f0ffffffffff000ULL },
        { QXAI_EVT_BASE,    0x0f0ffffffffff000ULL },
        { QXAI_PPR_BASE,    0x0f0ffffffffff000ULL },
        { QXAI_EXCL_BASE,   0x000ffffffffff003ULL },
        { QXAI_EXCL_LIMIT,  0x000ffffffffff000ULL },
        { QXAI_EFR,         EFR_DEFAULT },          /* read-only */
        { QXAI_HW_EVT_HI,   ~0ULL },
        { QXAI_HW_EVT_STATUS, 0 },                 /* HEV, HEO: W1C */
        { QXAI_CMD_HEAD,    0x7fff0ULL },
        { QXAI_CMD_TAIL,    0x7fff0ULL },
        { QXAI_EVT_HEAD,    0x7fff0ULL },
        { QXAI_EVT_TAIL,    0x7fff0ULL },
        { QXAI_PPR_HEAD,    0x7fff0ULL },
        { QXAI_PPR_TAIL,    0x7fff0ULL },
    };
    int i;

    for (i = 0; i < ARRAY_SIZE(regs); i++) {
        qxai_writeq(x, regs[i].reg, ~0ULL);
        g_assert_cmphex(qxai_readq(x, regs[i].reg), ==, regs[i].mask);
        qxai_writeq(x, regs[i].reg, 0);
    }

    /* Control: only the bits of offered features are writable */
    qxai_writeq(x, QXAI_CONTROL, ~0ULL & ~(QXAI_CTRL_IOMMU_EN));
    g_assert_cmphex(qxai_readq(x, QXAI_CONTROL), ==,
                    0x1fffeULL | 1ULL << 45);
    qxai_writeq(x, QXAI_CONTROL, 0);

    /* 32-bit halves of a 64-bit register */
    qxai_writel(x, QXAI_DEVTAB_BASE, 0xabcde00f);
    qxai_writel(x, QXAI_DEVTAB_BASE + 4, 0x000f1234);
    g_assert_cmphex(qxai_readq(x, QXAI_DEVTAB_BASE), ==,
                    0x000f1234abcde00fULL);
    g_assert_cmphex(qxai_readl(x, QXAI_DEVTAB_BASE + 4), ==, 0x000f1234);
    g_assert_cmphex(qpci_io_readb(x->dev, x->bar, QXAI_DEVTAB_BASE + 1),
                    ==, 0xe0);

    /* Reserved registers read zero and ignore writes */
    qxai_writeq(x, 0x100, ~0ULL);
    g_assert_cmphex(qxai_readq(x, 0x100), ==, 0);
    g_assert_cmphex(qxai_readq(x, 0x3ff8), ==, 0);
    qxai_stop(x);
}

/*
 * Extended Feature Register 2 reads 0 at every size and ignores writes,
 * and Linux's read of it at boot is no guest error; the reserved offset
 * beside it is (which shows the log does record guest errors).
 */
static void test_efr2(void)
{
    g_autofree char *log_path = NULL;
    g_autofree char *extra = guest_log_args(&log_path);
    QXenAmdIommuV2 *x = qxai_start("q35", NULL, extra);

    g_assert_cmphex(qxai_readq(x, QXAI_EFR2), ==, 0);
    qxai_writeq(x, QXAI_EFR2, ~0ULL);
    qpci_io_writel(x->dev, x->bar, QXAI_EFR2 + 4, 0xffffffff);
    g_assert_cmphex(qxai_readq(x, QXAI_EFR2), ==, 0);
    g_assert_cmphex(qpci_io_readl(x->dev, x->bar, QXAI_EFR2 + 4), ==, 0);
    g_assert_cmphex(qpci_io_readb(x->dev, x->bar, QXAI_EFR2 + 7), ==, 0);
    g_assert_false(guest_logged(log_path, "0x1a"));

    g_assert_cmphex(qxai_readq(x, QXAI_EFR2 + 8), ==, 0);
    g_assert(guest_logged(log_path, "read of reserved register 0x1a8"));
    qxai_stop(x);
    unlink(log_path);
}

static void test_features_off(void)
{
    QXenAmdIommuV2 *x = qxai_start("q35", "ppr=off,gt=off,ia=off,"
                                   "prefetch=off,he=off,gio=off,eph=off,"
                                   "host-levels=4", NULL);

    g_assert_cmphex(qxai_readq(x, QXAI_EFR), ==, 0);
    /* Without PPR the PPR registers and control bits are read-only */
    qxai_writeq(x, QXAI_PPR_BASE, ~0ULL);
    g_assert_cmphex(qxai_readq(x, QXAI_PPR_BASE), ==, 0);
    qxai_writeq(x, QXAI_CONTROL, QXAI_CTRL_PPR_EN | QXAI_CTRL_GT_EN);
    g_assert_cmphex(qxai_readq(x, QXAI_CONTROL), ==, 0);
    /* and the commands of absent features are illegal */
    qxai_setup_rings(x, LOG2_ENTRIES);
    qxai_control_set(x, QXAI_CTRL_IOMMU_EN | QXAI_CTRL_CMD_BUF_EN |
                     QXAI_CTRL_EVT_LOG_EN);
    qxai_submit(x, qxai_cmd(QXAI_CMD_INV_ALL, 0), 0);
    g_assert_cmpuint(ring_ptr(x, QXAI_EVT_TAIL), ==, 1);
    g_assert_cmpuint(ring_ptr(x, QXAI_CMD_HEAD), ==, 0);
    qxai_stop(x);
}

static void test_status_w1c(void)
{
    QXenAmdIommuV2 *x = start_running();

    qxai_submit(x, qxai_cmd(QXAI_CMD_COMPLETION_WAIT, 2), 0);  /* I=1 */
    g_assert(qxai_readq(x, QXAI_STATUS) & QXAI_ST_COMWAIT_INT);
    /* Writing zero changes nothing; run bits are read-only */
    qxai_writeq(x, QXAI_STATUS, 0);
    g_assert(qxai_readq(x, QXAI_STATUS) & QXAI_ST_COMWAIT_INT);
    qxai_writeq(x, QXAI_STATUS, QXAI_ST_CMD_RUN | QXAI_ST_COMWAIT_INT);
    g_assert_cmphex(qxai_readq(x, QXAI_STATUS), ==,
                    QXAI_ST_CMD_RUN | QXAI_ST_EVT_RUN | QXAI_ST_PPR_RUN);
    qxai_stop(x);
}

/* Commands */

static void test_completion_wait(void)
{
    QXenAmdIommuV2 *x = start_running();
    uint64_t sem = guest_alloc(&x->alloc, 64);
    uint64_t msi;
    uint16_t flags;
    uint8_t cap;
    int i;

    qtest_writeq(x->qts, sem, 0);
    qxai_submit(x, qxai_cmd(QXAI_CMD_COMPLETION_WAIT, sem | 1),
                0x1122334455667788ULL);
    g_assert_cmphex(qtest_readq(x->qts, sem), ==, 0x1122334455667788ULL);
    g_assert_cmpuint(ring_ptr(x, QXAI_CMD_HEAD), ==, 1);
    /* S without I: no interrupt status */
    g_assert_false(qxai_readq(x, QXAI_STATUS) & QXAI_ST_COMWAIT_INT);

    /* I with ComWaitIntEn and MSI on: the message lands in guest memory */
    msi = msi_to_ram(x);
    qxai_control_set(x, QXAI_CTRL_COMWAIT_INT_EN);
    qxai_submit(x, qxai_cmd(QXAI_CMD_COMPLETION_WAIT, 2), 0);
    g_assert(qxai_readq(x, QXAI_STATUS) & QXAI_ST_COMWAIT_INT);
    g_assert_cmphex(qtest_readl(x->qts, msi), ==, MSI_DATA);
    g_assert_cmpuint(info_uint(x, "interrupts"), ==, 1);

    /* Interrupt enable off: status only, no message */
    qtest_writel(x->qts, msi, 0);
    qxai_writeq(x, QXAI_STATUS, QXAI_ST_COMWAIT_INT);
    qxai_control_clear(x, QXAI_CTRL_COMWAIT_INT_EN);
    qxai_submit(x, qxai_cmd(QXAI_CMD_COMPLETION_WAIT, 2), 0);
    g_assert(qxai_readq(x, QXAI_STATUS) & QXAI_ST_COMWAIT_INT);
    g_assert_cmphex(qtest_readl(x->qts, msi), ==, 0);
    g_assert_cmpuint(info_uint(x, "interrupts"), ==, 1);
    g_assert_cmpuint(command_count(x, QXAI_CMD_COMPLETION_WAIT), ==, 3);

    /* The enable turned on while the status bit is set: a message now */
    qxai_control_set(x, QXAI_CTRL_COMWAIT_INT_EN);
    g_assert_cmphex(qtest_readl(x->qts, msi), ==, MSI_DATA);
    g_assert_cmpuint(info_uint(x, "interrupts"), ==, 2);

    /* An edge: none while the bit stays set, one once the driver cleared it */
    qtest_writel(x->qts, msi, 0);
    qxai_submit(x, qxai_cmd(QXAI_CMD_COMPLETION_WAIT, 2), 0);
    g_assert_cmphex(qtest_readl(x->qts, msi), ==, 0);
    qxai_writeq(x, QXAI_STATUS, QXAI_ST_COMWAIT_INT);
    qxai_submit(x, qxai_cmd(QXAI_CMD_COMPLETION_WAIT, 2), 0);
    g_assert_cmphex(qtest_readl(x->qts, msi), ==, MSI_DATA);
    g_assert_cmpuint(info_uint(x, "interrupts"), ==, 3);

    /* An edge while the function's MSI is off is sent once it is on */
    cap = qpci_find_capability(x->dev, PCI_CAP_ID_MSI, 0);
    flags = qpci_config_readw(x->dev, cap + PCI_MSI_FLAGS);
    qpci_config_writew(x->dev, cap + PCI_MSI_FLAGS,
                       flags & ~PCI_MSI_FLAGS_ENABLE);
    qtest_writel(x->qts, msi, 0);
    qxai_writeq(x, QXAI_STATUS, QXAI_ST_COMWAIT_INT);
    qxai_submit(x, qxai_cmd(QXAI_CMD_COMPLETION_WAIT, 2), 0);
    g_assert_cmphex(qtest_readl(x->qts, msi), ==, 0);
    qpci_config_writew(x->dev, cap + PCI_MSI_FLAGS, flags);
    g_assert_cmphex(qtest_readl(x->qts, msi), ==, MSI_DATA);

    /*
     * A machine stopped (or still loading an incoming one, whose
     * interrupt controller may come later) gets it once it runs
     */
    qtest_writel(x->qts, msi, 0);
    qxai_writeq(x, QXAI_STATUS, QXAI_ST_COMWAIT_INT);
    qtest_qmp_assert_success(x->qts, "{'execute': 'stop'}");
    qxai_submit(x, qxai_cmd(QXAI_CMD_COMPLETION_WAIT, 2), 0);
    g_assert(qxai_readq(x, QXAI_STATUS) & QXAI_ST_COMWAIT_INT);
    g_assert_cmphex(qtest_readl(x->qts, msi), ==, 0);
    qtest_qmp_assert_success(x->qts, "{'execute': 'cont'}");
    for (i = 0; i < 500 && qtest_readl(x->qts, msi) != MSI_DATA; i++) {
        g_usleep(10000);
    }
    g_assert_cmphex(qtest_readl(x->qts, msi), ==, MSI_DATA);
    qxai_stop(x);
}

/*
 * A burst of commands read across two RAM blocks (here two NUMA nodes'
 * memory backends; under Xen, any two pages) runs like any other.
 */
/*
 * A running command buffer of 512 entries whose first 256 fill the page
 * at @half (the rest is what the test puts after it), head and tail at
 * entry 250
 */
static void ring_at_half(QXenAmdIommuV2 *x, uint64_t half)
{
    qxai_setup_rings(x, LOG2_ENTRIES);
    x->cmd = half;
    x->entries = 512;
    qtest_memset(x->qts, x->cmd, 0, 4096);
    qxai_writeq(x, QXAI_CMD_BASE, x->cmd | 9ULL << 56);
    qxai_writeq(x, QXAI_CMD_HEAD, 250 << 4);
    qxai_writeq(x, QXAI_CMD_TAIL, 250 << 4);
    qxai_control_set(x, QXAI_CTRL_IOMMU_EN | QXAI_CTRL_CMD_BUF_EN |
                     QXAI_CTRL_EVT_LOG_EN);
}

/* @n completion waits at entries 250 on, storing 1.. into @sem's words */
static void queue_waits_from_250(QXenAmdIommuV2 *x, uint64_t sem, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        qtest_writeq(x->qts, sem + i * 8, 0);
        qtest_writeq(x->qts, x->cmd + (250 + i) * 16,
                     qxai_cmd(QXAI_CMD_COMPLETION_WAIT, (sem + i * 8) | 1));
        qtest_writeq(x->qts, x->cmd + (250 + i) * 16 + 8, i + 1);
    }
}

static void test_ring_across_ram_blocks(void)
{
    const uint64_t node1 = 128 << 20;
    QXenAmdIommuV2 *x = qxai_start("q35", NULL,
        "-m 256M -object memory-backend-ram,id=m0,size=128M "
        "-object memory-backend-ram,id=m1,size=128M "
        "-numa node,memdev=m0 -numa node,memdev=m1");
    uint64_t sem = guest_alloc(&x->alloc, 64);
    int i;

    /* the second half in node 1; the burst runs 250..259 */
    ring_at_half(x, node1 - 4096);
    queue_waits_from_250(x, sem, 10);
    qxai_writeq(x, QXAI_CMD_TAIL, 260 << 4);
    for (i = 0; i < 10; i++) {
        g_assert_cmphex(qtest_readq(x->qts, sem + i * 8), ==, i + 1);
    }
    g_assert_cmpuint(ring_ptr(x, QXAI_CMD_HEAD), ==, 260);
    g_assert(qxai_readq(x, QXAI_STATUS) & QXAI_ST_CMD_RUN);
    g_assert_cmpuint(ring_ptr(x, QXAI_EVT_TAIL), ==, 0);
    qxai_stop(x);
}

/*
 * A ring whose second half lies beyond RAM: the commands before the
 * first unreadable entry run, and the hardware error names that entry
 */
static void test_ring_beyond_ram(void)
{
    const uint64_t ram_end = 256 << 20;
    QXenAmdIommuV2 *x = qxai_start("q35", NULL, "-m 256M");
    uint64_t sem = guest_alloc(&x->alloc, 64);
    uint64_t ev[2];
    int i;

    ring_at_half(x, ram_end - 4096);
    queue_waits_from_250(x, sem, 6);
    qxai_writeq(x, QXAI_CMD_TAIL, 260 << 4);
    for (i = 0; i < 6; i++) {
        g_assert_cmphex(qtest_readq(x->qts, sem + i * 8), ==, i + 1);
    }
    g_assert_cmpuint(ring_ptr(x, QXAI_CMD_HEAD), ==, 256);
    g_assert_false(qxai_readq(x, QXAI_STATUS) & QXAI_ST_CMD_RUN);
    g_assert_cmpuint(ring_ptr(x, QXAI_EVT_TAIL), ==, 1);
    qxai_log_entry(x, x->evt, 0, ev);
    g_assert_cmphex(ev[0] >> 60, ==, QXAI_EVT_COMMAND_HW_ERROR);
    g_assert_cmphex(ev[1], ==, ram_end);
    qxai_stop(x);
}

/* A well-formed command of every kind runs, advances head, logs nothing */
static void test_every_command(void)
{
    QXenAmdIommuV2 *x = start_running();
    uint64_t sem = guest_alloc(&x->alloc, 64);
    static const struct {
        unsigned op;
        uint64_t q0, q1;
    } cmds[] = {
        { QXAI_CMD_INV_DEVTAB_ENTRY, 0x0010, 0 },
        /* domain 5, all pages, PDE: what Linux sends */
        { QXAI_CMD_INV_IOMMU_PAGES, 5ULL << 32, 0x7ffffffffffff000ULL | 3 },
        /* guest (GN) page for PASID 0x1234 */
        { QXAI_CMD_INV_IOMMU_PAGES, 5ULL << 32 | 0x1234, 0x400000 | 4 },
        /* devid 0x20, queue depth 32, queue id = devid, PASID 0x1234 */
        { QXAI_CMD_INV_IOTLB_PAGES, 0x20ULL << 32 | 0x34ULL << 48 | 32 << 24 |
          0x12 << 16 | 0x20, 0x400000 | 4 | 1 },
        { QXAI_CMD_INV_INT_TABLE, 0x0018, 0 },
        { QXAI_CMD_PREFETCH_PAGES, 7ULL << 32 | 4 << 24 | 0x20, 0x800000 },
        { QXAI_CMD_COMPLETE_PPR, 0x1234ULL << 32 | 0x20,
          4 | (0x1fULL << 32) },
        { QXAI_CMD_INV_ALL, 0, 0 },
    };
    int i;

    for (i = 0; i < ARRAY_SIZE(cmds); i++) {
        uint64_t before = command_count(x, cmds[i].op);

        qxai_submit(x, qxai_cmd(cmds[i].op, cmds[i].q0), cmds[i].q1);
        g_assert_cmpuint(ring_ptr(x, QXAI_CMD_HEAD), ==, i + 1);
        g_assert_cmpuint(command_count(x, cmds[i].op), ==, before + 1);
    }
    /* followed by a completion wait, which a driver uses to know */
    qxai_submit(x, qxai_cmd(QXAI_CMD_COMPLETION_WAIT, sem | 1), 1);
    g_assert_cmphex(qtest_readq(x->qts, sem), ==, 1);
    g_assert_cmpuint(ring_ptr(x, QXAI_EVT_TAIL), ==, 0);
    g_assert_cmpuint(info_uint(x, "illegal-commands"), ==, 0);
    qxai_stop(x);
}

static void test_complete_ppr(void)
{
    QXenAmdIommuV2 *x = start_running();
    QDict *info, *c;

    qxai_submit(x, qxai_cmd(QXAI_CMD_COMPLETE_PPR, 0xabcdULL << 32 | 0x0308),
                4 | (0x1aULL << 32) | (0xfULL << 44));
    info = query_device(x);
    c = qdict_get_qdict(info, "last-ppr-completion");
    g_assert(c);
    g_assert_cmpuint(dict_uint(c, "devid"), ==, 0x0308);
    g_assert_cmpuint(dict_uint(c, "pasid"), ==, 0xabcd);
    g_assert_cmpuint(dict_uint(c, "tag"), ==, 0x1a);
    g_assert_cmpuint(dict_uint(c, "status"), ==, 0xf);
    g_assert_cmpuint(dict_uint(info, "ppr-completions"), ==, 1);
    qobject_unref(info);

    /* Without GN the PASID is not part of the completion */
    qxai_submit(x, qxai_cmd(QXAI_CMD_COMPLETE_PPR, 0x0308), 0x5ULL << 32);
    info = query_device(x);
    c = qdict_get_qdict(info, "last-ppr-completion");
    g_assert_false(qdict_haskey(c, "pasid"));
    g_assert_cmpuint(dict_uint(c, "tag"), ==, 5);
    qobject_unref(info);

    /*
     * Fields that are the guest's, not reserved: the completion tag's
     * bits 43:42 and INVALIDATE_IOTLB_PAGES' Type (q1 bits 5:4).
     */
    qxai_submit(x, qxai_cmd(QXAI_CMD_COMPLETE_PPR, 0x0308),
                3ULL << 42 | 7ULL << 32);
    qxai_submit(x, qxai_cmd(QXAI_CMD_INV_IOTLB_PAGES, 0x0308), 3ULL << 4);
    g_assert_cmpuint(info_uint(x, "illegal-commands"), ==, 0);
    g_assert_cmpuint(ring_ptr(x, QXAI_CMD_HEAD), ==, 4);
    info = query_device(x);
    c = qdict_get_qdict(info, "last-ppr-completion");
    g_assert_cmpuint(dict_uint(c, "tag"), ==, 7);
    qobject_unref(info);
    qxai_stop(x);
}

/* Illegal commands: event with the command's address, buffer stops */

static void expect_illegal(QXenAmdIommuV2 *x, uint64_t q0, uint64_t q1,
                           uint32_t evt_index)
{
    uint32_t head = ring_ptr(x, QXAI_CMD_HEAD);
    uint64_t ev[2], illegal;

    qxai_submit(x, q0, q1);
    g_assert_cmpuint(ring_ptr(x, QXAI_CMD_HEAD), ==, head);
    g_assert_false(qxai_readq(x, QXAI_STATUS) & QXAI_ST_CMD_RUN);
    g_assert_cmpuint(ring_ptr(x, QXAI_EVT_TAIL), ==, evt_index + 1);
    qxai_log_entry(x, x->evt, evt_index, ev);
    g_assert_cmphex(ev[0] >> 60, ==, QXAI_EVT_ILLEGAL_COMMAND);
    g_assert_cmphex(ev[1], ==, x->cmd + head * 16);
    /*
     * Rewriting CONTROL with CmdBufEn still set is not a restart: the bad
     * command is not run again (no second event)
     */
    illegal = info_uint(x, "illegal-commands");
    qxai_control_set(x, QXAI_CTRL_COMWAIT_INT_EN);
    g_assert_false(qxai_readq(x, QXAI_STATUS) & QXAI_ST_CMD_RUN);
    g_assert_cmpuint(ring_ptr(x, QXAI_CMD_HEAD), ==, head);
    g_assert_cmpuint(ring_ptr(x, QXAI_EVT_TAIL), ==, evt_index + 1);
    g_assert_cmpuint(info_uint(x, "illegal-commands"), ==, illegal);
    qxai_control_clear(x, QXAI_CTRL_COMWAIT_INT_EN);

    /* The driver skips the bad command and restarts the buffer */
    qxai_control_clear(x, QXAI_CTRL_CMD_BUF_EN);
    qxai_writeq(x, QXAI_CMD_HEAD, (uint64_t)(head + 1) << 4);
    qxai_control_set(x, QXAI_CTRL_CMD_BUF_EN);
    g_assert(qxai_readq(x, QXAI_STATUS) & QXAI_ST_CMD_RUN);
}

static void test_illegal_commands(void)
{
    QXenAmdIommuV2 *x = start_running();
    uint64_t sem = guest_alloc(&x->alloc, 64);
    static const struct {
        uint64_t q0, q1;
    } bad[] = {
        { 0, 0 },                                           /* opcode 0 */
        { 9ULL << 60, 0 },                                  /* opcode 9 */
        { 15ULL << 60, 0 },                                 /* opcode 15 */
        { 1ULL << 60 | 1ULL << 52, 0 },                     /* CW rsvd */
        { 2ULL << 60 | 1ULL << 16, 0 },                     /* devtab rsvd */
        { 2ULL << 60, 1 },                                  /* devtab q1 */
        { 3ULL << 60 | 1ULL << 20, 0 },                     /* pages rsvd */
        { 3ULL << 60, 1ULL << 3 },                          /* addr rsvd */
        { 4ULL << 60, 2 },                                  /* iotlb rsvd */
        { 5ULL << 60 | 1ULL << 40, 0 },                     /* irt rsvd */
        { 6ULL << 60 | 1ULL << 16, 0 },                     /* prefetch */
        { 6ULL << 60, 2 },                                  /* pf q1 rsvd */
        { 7ULL << 60 | 1ULL << 16, 0 },                     /* cppr rsvd */
        { 7ULL << 60, 1ULL << 63 },                         /* cppr q1 */
        { 8ULL << 60 | 1, 0 },                              /* inv all */
    };
    uint64_t ev[2];
    int i;

    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        expect_illegal(x, bad[i].q0, bad[i].q1, i);
    }
    g_assert_cmpuint(info_uint(x, "illegal-commands"), ==, ARRAY_SIZE(bad));

    /* Commands queued behind an illegal one wait for the restart */
    qxai_queue(x, 0, 0);
    qtest_writeq(x->qts, sem, 0);
    qxai_writeq(x, QXAI_CMD_TAIL,
                (uint64_t)((ring_ptr(x, QXAI_CMD_TAIL) + 1) % 256) << 4);
    qxai_submit(x, qxai_cmd(QXAI_CMD_COMPLETION_WAIT, sem | 1), 7);
    g_assert_cmphex(qtest_readq(x->qts, sem), ==, 0);
    qxai_log_entry(x, x->evt, ARRAY_SIZE(bad), ev);
    g_assert_cmphex(ev[0] >> 60, ==, QXAI_EVT_ILLEGAL_COMMAND);

    /* IommuEn off: every ring stops */
    qxai_control_clear(x, QXAI_CTRL_CMD_BUF_EN);
    qxai_writeq(x, QXAI_CMD_HEAD, 0);
    qxai_writeq(x, QXAI_CMD_TAIL, 0);
    qxai_control_set(x, QXAI_CTRL_CMD_BUF_EN);
    g_assert(qxai_readq(x, QXAI_STATUS) & QXAI_ST_CMD_RUN);
    qxai_control_clear(x, QXAI_CTRL_IOMMU_EN);
    g_assert_cmphex(qxai_readq(x, QXAI_STATUS) &
                    (QXAI_ST_CMD_RUN | QXAI_ST_EVT_RUN | QXAI_ST_PPR_RUN),
                    ==, 0);
    qxai_stop(x);
}

/* Logs: wrap and overflow */

static void test_event_log_wrap_overflow(void)
{
    QXenAmdIommuV2 *x = start_running();
    uint64_t msi = msi_to_ram(x);
    uint64_t ev[2], irqs;

    qxai_control_set(x, QXAI_CTRL_EVT_INT_EN);
    /* Wrap: put the log's head and tail at the last entry */
    qxai_control_clear(x, QXAI_CTRL_EVT_LOG_EN);
    qxai_writeq(x, QXAI_EVT_HEAD, 255 << 4);
    qxai_writeq(x, QXAI_EVT_TAIL, 255 << 4);
    qxai_control_set(x, QXAI_CTRL_EVT_LOG_EN);
    qxai_submit(x, 0, 0);                            /* illegal */
    g_assert_cmpuint(ring_ptr(x, QXAI_EVT_TAIL), ==, 0);
    qxai_log_entry(x, x->evt, 255, ev);
    g_assert_cmphex(ev[0] >> 60, ==, QXAI_EVT_ILLEGAL_COMMAND);
    g_assert(qxai_readq(x, QXAI_STATUS) & QXAI_ST_EVT_INT);
    g_assert_cmphex(qtest_readl(x->qts, msi), ==, MSI_DATA);

    /* Overflow: the log is full when tail + 1 == head */
    qxai_writeq(x, QXAI_EVT_HEAD, 1 << 4);
    qxai_writeq(x, QXAI_STATUS, QXAI_ST_EVT_INT);
    qtest_writel(x->qts, msi, 0);
    irqs = info_uint(x, "interrupts");
    /* the restart runs the same bad command again (head is on it) */
    qxai_control_restart(x, QXAI_CTRL_CMD_BUF_EN);
    qxai_submit(x, 0, 0);
    /* it ran (and failed), its event was dropped, one interrupt */
    g_assert_cmpuint(info_uint(x, "illegal-commands"), ==, 2);
    g_assert_cmpuint(info_uint(x, "log-drops"), ==, 1);
    g_assert_cmpuint(info_uint(x, "interrupts"), ==, irqs + 1);
    g_assert_cmpuint(ring_ptr(x, QXAI_EVT_TAIL), ==, 0);
    g_assert(qxai_readq(x, QXAI_STATUS) & QXAI_ST_EVT_OVERFLOW);
    g_assert_false(qxai_readq(x, QXAI_STATUS) & QXAI_ST_EVT_RUN);
    /* the overflow interrupts by itself: no entry, so no EventLogInt */
    g_assert_false(qxai_readq(x, QXAI_STATUS) & QXAI_ST_EVT_INT);
    g_assert_cmphex(qtest_readl(x->qts, msi), ==, MSI_DATA);
    qxai_log_entry(x, x->evt, 0, ev);
    g_assert_cmphex(ev[0], ==, 0);                   /* nothing written */

    /* Re-enabled with the overflow bit still set: nothing is written */
    qxai_writeq(x, QXAI_EVT_HEAD, 0);
    qxai_control_restart(x, QXAI_CTRL_EVT_LOG_EN);
    qxai_control_restart(x, QXAI_CTRL_CMD_BUF_EN);
    qxai_submit(x, 0, 0);
    g_assert_cmpuint(ring_ptr(x, QXAI_EVT_TAIL), ==, 0);

    /* The driver clears overflow, then re-enables: logging resumes */
    qxai_writeq(x, QXAI_STATUS, QXAI_ST_EVT_OVERFLOW);
    qxai_control_restart(x, QXAI_CTRL_EVT_LOG_EN);
    qxai_control_restart(x, QXAI_CTRL_CMD_BUF_EN);
    qxai_submit(x, 0, 0);
    g_assert_cmpuint(ring_ptr(x, QXAI_EVT_TAIL), ==, 1);
    qxai_stop(x);
}

/* A PASID wider than the device offers is refused, nothing logged */
static void test_ppr_pasid_width(void)
{
    QXenAmdIommuV2 *x = start_running();
    QDict *rsp;

    qxai_control_set(x, QXAI_CTRL_PPR_INT_EN);
    rsp = inject_ppr(x, 0x0308, 0x12345, 1, 0x024, 0x1000);
    g_assert(qdict_haskey(rsp, "error"));
    qobject_unref(rsp);
    /* flags are 12 bits (the PPR log's 59:48) */
    rsp = inject_ppr(x, 0x0308, 0xffff, 1, 0x1024, 0x1000);
    g_assert(qdict_haskey(rsp, "error"));
    qobject_unref(rsp);
    g_assert_cmpuint(ring_ptr(x, QXAI_PPR_TAIL), ==, 0);
    rsp = inject_ppr(x, 0x0308, 0xffff, 1, 0x024, 0x1000);
    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    g_assert_cmpuint(ring_ptr(x, QXAI_PPR_TAIL), ==, 1);
    qxai_stop(x);
}

static void test_ppr_log(void)
{
    QXenAmdIommuV2 *x = start_running_with("pasid-bits=20");
    uint64_t msi = msi_to_ram(x);
    uint64_t e[2];
    QDict *rsp;
    int i;

    qxai_control_set(x, QXAI_CTRL_PPR_INT_EN);
    rsp = inject_ppr(x, 0x0308, 0x12345, 0x1a5, 0x024, 0x7fffdeadb000ULL);
    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    g_assert_cmpuint(ring_ptr(x, QXAI_PPR_TAIL), ==, 1);
    qxai_log_entry(x, x->ppr, 0, e);
    g_assert_cmphex(e[0] >> 60, ==, 1);                 /* PPR request */
    g_assert_cmphex(e[0] & 0xffff, ==, 0x0308);         /* DeviceID */
    g_assert_cmphex((e[0] >> 16) & 0xffff, ==, 0x2345); /* PASID[15:0] */
    g_assert_cmphex((e[0] >> 42) & 0xf, ==, 0x1);       /* PASID[19:16] */
    g_assert_cmphex((e[0] >> 32) & 0x3ff, ==, 0x1a5);   /* tag */
    g_assert_cmphex((e[0] >> 48) & 0xfff, ==, 0x124);   /* flags + GN */
    g_assert_cmphex(e[1], ==, 0x7fffdeadb000ULL);
    g_assert(qxai_readq(x, QXAI_STATUS) & QXAI_ST_PPR_INT);
    g_assert_cmphex(qtest_readl(x->qts, msi), ==, MSI_DATA);

    /* Without a PASID: GN clear */
    rsp = inject_ppr(x, 0x0010, -1, 3, 0x004, 0x1000);
    qobject_unref(rsp);
    qxai_log_entry(x, x->ppr, 1, e);
    g_assert_cmphex((e[0] >> 48) & 0xfff, ==, 0x004);
    g_assert_cmphex((e[0] >> 16) & 0xffff, ==, 0);

    /* Fill the log: 255 entries fit in 256 slots, the next overflows */
    for (i = 2; i < 255; i++) {
        rsp = inject_ppr(x, 0x10, 1, i & 0x3ff, 0x4, 0x1000 * i);
        g_assert(qdict_haskey(rsp, "return"));
        qobject_unref(rsp);
    }
    g_assert_cmpuint(ring_ptr(x, QXAI_PPR_TAIL), ==, 255);
    rsp = inject_ppr(x, 0x10, 1, 1, 0x4, 0x1000);
    g_assert(qdict_haskey(rsp, "error"));
    qobject_unref(rsp);
    g_assert(qxai_readq(x, QXAI_STATUS) & QXAI_ST_PPR_OVERFLOW);
    g_assert_false(qxai_readq(x, QXAI_STATUS) & QXAI_ST_PPR_RUN);
    g_assert_cmpuint(info_uint(x, "ppr-requests"), ==, 255);

    /* Consume, restart as Linux does; the next entry wraps to slot 255 */
    qxai_writeq(x, QXAI_PPR_HEAD, 255 << 4);
    qxai_writeq(x, QXAI_STATUS, QXAI_ST_PPR_OVERFLOW);
    qxai_control_restart(x, QXAI_CTRL_PPR_LOG_EN);
    rsp = inject_ppr(x, 0x0042, -1, 9, 0x20, 0x5000);
    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    qxai_log_entry(x, x->ppr, 255, e);
    g_assert_cmphex(e[0] & 0xffff, ==, 0x42);
    g_assert_cmpuint(ring_ptr(x, QXAI_PPR_TAIL), ==, 0);

    /* PPR disabled by the guest: refused, nothing logged */
    qxai_control_clear(x, QXAI_CTRL_PPR_EN);
    rsp = inject_ppr(x, 0x0042, -1, 9, 0x20, 0x5000);
    g_assert(qdict_haskey(rsp, "error"));
    qobject_unref(rsp);
    g_assert_cmpuint(ring_ptr(x, QXAI_PPR_TAIL), ==, 0);
    qxai_stop(x);
}

/* Hostile guests */

static void test_hostile_ring_lengths(void)
{
    QXenAmdIommuV2 *x = start_q35();
    uint64_t ring = guest_alloc(&x->alloc, 4096);

    uint64_t len;

    /* Lengths 0-7 (reserved): enabling starts no ring; no hang */
    for (len = 0; len < 8; len++) {
        qxai_writeq(x, QXAI_CONTROL, 0);
        qxai_writeq(x, QXAI_CMD_BASE, ring | len << 56);
        qxai_writeq(x, QXAI_EVT_BASE, ring | len << 56);
        qxai_writeq(x, QXAI_PPR_BASE, ring | len << 56);
        qxai_writeq(x, QXAI_CMD_TAIL, 0x10);
        qxai_control_set(x, QXAI_CTRL_IOMMU_EN | QXAI_CTRL_CMD_BUF_EN |
                         QXAI_CTRL_EVT_LOG_EN | QXAI_CTRL_PPR_LOG_EN |
                         QXAI_CTRL_PPR_EN);
        g_assert_cmphex(qxai_readq(x, QXAI_STATUS) &
                        (QXAI_ST_CMD_RUN | QXAI_ST_EVT_RUN | QXAI_ST_PPR_RUN),
                        ==, 0);
        qxai_writeq(x, QXAI_CMD_TAIL, 0x7fff0);
        g_assert_cmpuint(qxai_readq(x, QXAI_CMD_HEAD), ==, 0);
    }
    /* Length 8, the smallest: it runs */
    qxai_writeq(x, QXAI_CONTROL, 0);
    qxai_writeq(x, QXAI_CMD_BASE, ring | 8ULL << 56);
    qxai_writeq(x, QXAI_CMD_TAIL, 0);
    qxai_control_set(x, QXAI_CTRL_IOMMU_EN | QXAI_CTRL_CMD_BUF_EN);
    g_assert(qxai_readq(x, QXAI_STATUS) & QXAI_ST_CMD_RUN);
    qxai_stop(x);
}

static void test_hostile_pointers(void)
{
    g_autofree char *log_path = NULL;
    g_autofree char *extra = guest_log_args(&log_path);
    QXenAmdIommuV2 *x = start_running_extra(NULL, extra);
    uint64_t ev[2];

    /* Tail beyond the ring: the buffer stops with a hardware error */
    qxai_writeq(x, QXAI_CMD_TAIL, 0x7fff0);
    g_assert_false(qxai_readq(x, QXAI_STATUS) & QXAI_ST_CMD_RUN);
    qxai_log_entry(x, x->evt, 0, ev);
    g_assert_cmphex(ev[0] >> 60, ==, QXAI_EVT_COMMAND_HW_ERROR);

    /* The command buffer's head and base are frozen while it runs */
    qxai_writeq(x, QXAI_CMD_TAIL, 0);
    qxai_control_restart(x, QXAI_CTRL_CMD_BUF_EN);
    g_assert_false(guest_logged(log_path, "written while its ring runs"));
    qxai_writeq(x, QXAI_CMD_HEAD, 0x50);
    g_assert_cmphex(qxai_readq(x, QXAI_CMD_HEAD), ==, 0);
    g_assert(guest_logged(log_path, "CMD_HEAD written while its ring runs"));
    qxai_writeq(x, QXAI_CMD_BASE, 0x1000);
    g_assert_cmphex(qxai_readq(x, QXAI_CMD_BASE) & ~(0xfULL << 56), ==,
                    x->cmd);
    g_assert(guest_logged(log_path, "CMD_BASE written while its ring runs"));
    qxai_stop(x);
    unlink(log_path);
}

/*
 * Linux reprograms logs that still run: 6.1 leaves PPRLogEn set across
 * kexec and hibernation (its iommu_disable() clears IommuEn only), and
 * kdump keeps the PPR log running; each then writes a new base in two
 * halves, head and tail 0, and sets the enables. The next entries go to
 * the new buffer, from its start.
 */
/* A PPR log stopped, its overflow cleared, started with these values */
static void ppr_log_start(QXenAmdIommuV2 *x, uint64_t base, uint32_t head,
                          uint32_t tail)
{
    qxai_control_clear(x, QXAI_CTRL_PPR_LOG_EN);
    qxai_writeq(x, QXAI_STATUS, QXAI_ST_PPR_OVERFLOW | QXAI_ST_PPR_INT);
    qxai_writeq(x, QXAI_PPR_BASE, base);
    qxai_writeq(x, QXAI_PPR_HEAD, (uint64_t)head << 4);
    qxai_writeq(x, QXAI_PPR_TAIL, (uint64_t)tail << 4);
    qxai_control_set(x, QXAI_CTRL_PPR_LOG_EN);
    g_assert(qxai_readq(x, QXAI_STATUS) & QXAI_ST_PPR_RUN);
}

/* The next page request overflows the running PPR log: it stops, once */
static void expect_ppr_overflow(QXenAmdIommuV2 *x)
{
    uint64_t irqs = info_uint(x, "interrupts");
    QDict *rsp = inject_ppr(x, 0x66, -1, 1, 0x4, 0x6000);

    g_assert(qdict_haskey(rsp, "error"));
    qobject_unref(rsp);
    g_assert(qxai_readq(x, QXAI_STATUS) & QXAI_ST_PPR_OVERFLOW);
    g_assert_false(qxai_readq(x, QXAI_STATUS) & QXAI_ST_PPR_RUN);
    g_assert_cmpuint(info_uint(x, "interrupts"), ==, irqs + 1);
}

static void test_log_reprogram_while_running(void)
{
    QXenAmdIommuV2 *x = start_running();
    uint64_t fresh = guest_alloc(&x->alloc, 4096);
    uint64_t big = guest_alloc(&x->alloc, 8192), evt = guest_alloc(&x->alloc,
                                                                    4096);
    uint64_t e[2], old[3][2];
    QDict *rsp;
    int i;

    qxai_writeq(x, QXAI_CONTROL, qxai_readq(x, QXAI_CONTROL) |
                QXAI_CTRL_PPR_INT_EN);
    msi_to_ram(x);
    for (i = 0; i < 3; i++) {
        qobject_unref(inject_ppr(x, 0x10, -1, i, 0x4, 0x1000));
        qxai_log_entry(x, x->ppr, i, old[i]);
    }
    g_assert_cmpuint(ring_ptr(x, QXAI_PPR_TAIL), ==, 3);
    /* 6.1's iommu_disable(), then a new kernel's early enable */
    qxai_control_clear(x, QXAI_CTRL_CMD_BUF_EN | QXAI_CTRL_EVT_LOG_EN |
                       QXAI_CTRL_IOMMU_EN);
    qxai_control_set(x, QXAI_CTRL_IOMMU_EN);
    g_assert(qxai_readq(x, QXAI_STATUS) & QXAI_ST_PPR_RUN);

    qtest_memset(x->qts, fresh, 0, 4096);
    qxai_writel(x, QXAI_PPR_BASE, (uint32_t)fresh);
    qxai_writel(x, QXAI_PPR_BASE + 4, (fresh >> 32) | 8 << 24);
    qxai_writel(x, QXAI_PPR_HEAD, 0);
    qxai_writel(x, QXAI_PPR_TAIL, 0);
    qxai_control_set(x, QXAI_CTRL_PPR_LOG_EN | QXAI_CTRL_PPR_EN);
    g_assert_cmphex(qxai_readq(x, QXAI_PPR_BASE) & ~(0xfULL << 56), ==,
                    fresh);
    g_assert_cmpuint(ring_ptr(x, QXAI_PPR_TAIL), ==, 0);

    rsp = inject_ppr(x, 0x77, -1, 9, 0x4, 0x5000);
    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    g_assert_cmpuint(ring_ptr(x, QXAI_PPR_TAIL), ==, 1);
    qxai_log_entry(x, fresh, 0, e);
    g_assert_cmphex(e[0] & 0xffff, ==, 0x77);
    g_assert_cmphex(e[1], ==, 0x5000);
    /* the old buffer: as it was, nothing after it */
    for (i = 0; i < 3; i++) {
        qxai_log_entry(x, x->ppr, i, e);
        g_assert_cmphex(e[0], ==, old[i][0]);
        g_assert_cmphex(e[1], ==, old[i][1]);
    }
    qxai_log_entry(x, x->ppr, 3, e);
    g_assert_cmphex(e[0], ==, 0);

    /*
     * Hostile rewrites of a running log end as a full log does: overflow,
     * the log stopped, one interrupt; nothing written outside the ring
     */
    ppr_log_start(x, big | 8ULL << 56, 0, 0);
    qxai_writeq(x, QXAI_PPR_BASE, big | 7ULL << 56);    /* reserved length */
    expect_ppr_overflow(x);
    ppr_log_start(x, big | 9ULL << 56, 0, 300);         /* 512 entries */
    qxai_writeq(x, QXAI_PPR_BASE, big | 8ULL << 56);    /* tail now beyond */
    expect_ppr_overflow(x);
    ppr_log_start(x, big | 8ULL << 56, 5, 0);
    qxai_writeq(x, QXAI_PPR_TAIL, 4 << 4);              /* head - 1: full */
    expect_ppr_overflow(x);
    qxai_log_entry(x, big, 4, e);
    g_assert_cmphex(e[0], ==, 0);
    /* A larger ring, written while running, is used at once */
    ppr_log_start(x, big | 8ULL << 56, 0, 255);
    qxai_writeq(x, QXAI_PPR_BASE, big | 9ULL << 56);
    rsp = inject_ppr(x, 0x55, -1, 2, 0x4, 0x7000);
    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    g_assert_cmpuint(ring_ptr(x, QXAI_PPR_TAIL), ==, 256);
    qxai_log_entry(x, big, 255, e);
    g_assert_cmphex(e[0] & 0xffff, ==, 0x55);

    /* The event log likewise, while it runs */
    qxai_control_set(x, QXAI_CTRL_EVT_LOG_EN | QXAI_CTRL_CMD_BUF_EN);
    qtest_memset(x->qts, evt, 0, 4096);
    qxai_writeq(x, QXAI_EVT_BASE, evt | 8ULL << 56);
    qxai_writeq(x, QXAI_EVT_HEAD, 0);
    qxai_writeq(x, QXAI_EVT_TAIL, 0);
    qxai_control_restart(x, QXAI_CTRL_CMD_BUF_EN);
    qxai_submit(x, 0, 0);                   /* illegal: an event */
    g_assert_cmpuint(ring_ptr(x, QXAI_EVT_TAIL), ==, 1);
    qxai_log_entry(x, evt, 0, e);
    g_assert_cmphex(e[0] >> 60, ==, QXAI_EVT_ILLEGAL_COMMAND);
    qxai_stop(x);
}

/* Rings and stores aimed at MMIO, the device's own registers included */
static void test_hostile_dma_targets(void)
{
    QXenAmdIommuV2 *x = start_running();
    uint64_t bar = x->bar.addr;
    uint64_t sem = guest_alloc(&x->alloc, 64);
    uint64_t ev[2];

    /* A completion-wait store into the device's own tail register */
    qxai_submit(x, qxai_cmd(QXAI_CMD_COMPLETION_WAIT,
                            (bar + QXAI_CMD_TAIL) | 1), 0x70);
    g_assert_false(qxai_readq(x, QXAI_STATUS) & QXAI_ST_CMD_RUN);
    qxai_log_entry(x, x->evt, 0, ev);
    g_assert_cmphex(ev[0] >> 60, ==, QXAI_EVT_COMMAND_HW_ERROR);
    /* naming the store that failed, a master abort (type 01b) */
    g_assert_cmphex(ev[1], ==, bar + QXAI_CMD_TAIL);
    g_assert_cmphex((ev[0] >> 57) & 3, ==, 1);
    g_assert_cmphex(qxai_readq(x, QXAI_CMD_TAIL), ==, 0x10);

    /* A command buffer over the device's own BAR */
    qxai_control_clear(x, QXAI_CTRL_CMD_BUF_EN);
    qxai_writeq(x, QXAI_CMD_BASE, bar | 8ULL << 56);
    qxai_writeq(x, QXAI_CMD_HEAD, 0);
    qxai_writeq(x, QXAI_CMD_TAIL, 0);
    qxai_control_set(x, QXAI_CTRL_CMD_BUF_EN);
    qxai_writeq(x, QXAI_CMD_TAIL, 0x20);
    g_assert_false(qxai_readq(x, QXAI_STATUS) & QXAI_ST_CMD_RUN);
    g_assert_cmpuint(ring_ptr(x, QXAI_EVT_TAIL), ==, 2);
    /* a hardware error at the fetch: nothing was read from MMIO and run */
    qxai_log_entry(x, x->evt, 1, ev);
    g_assert_cmphex(ev[0] >> 60, ==, QXAI_EVT_COMMAND_HW_ERROR);
    g_assert_cmphex(ev[1], ==, bar);
    g_assert_cmphex((ev[0] >> 57) & 3, ==, 1);
    g_assert_cmpuint(info_uint(x, "illegal-commands"), ==, 0);

    /* A store into unassigned space: the same hardware error */
    qxai_control_clear(x, QXAI_CTRL_CMD_BUF_EN);
    qxai_writeq(x, QXAI_CMD_BASE, x->cmd | 8ULL << 56);
    qxai_writeq(x, QXAI_CMD_HEAD, 0);
    qxai_writeq(x, QXAI_CMD_TAIL, 0);
    qxai_control_set(x, QXAI_CTRL_CMD_BUF_EN);
    qxai_submit(x, qxai_cmd(QXAI_CMD_COMPLETION_WAIT,
                            0xfffff000000ULL | 1), 0x70);
    g_assert_false(qxai_readq(x, QXAI_STATUS) & QXAI_ST_CMD_RUN);
    g_assert_cmpuint(ring_ptr(x, QXAI_EVT_TAIL), ==, 3);
    qxai_log_entry(x, x->evt, 2, ev);
    g_assert_cmphex(ev[0] >> 60, ==, QXAI_EVT_COMMAND_HW_ERROR);
    g_assert_cmphex(ev[1], ==, 0xfffff000000ULL);

    /*
     * An event log in unassigned space: stopped, nothing written
     * anywhere, the entry counted as dropped
     */
    qxai_control_clear(x, QXAI_CTRL_EVT_LOG_EN | QXAI_CTRL_CMD_BUF_EN);
    qxai_writeq(x, QXAI_EVT_BASE, 0xfffff000000ULL | 8ULL << 56);
    qxai_writeq(x, QXAI_CMD_BASE, x->cmd | 8ULL << 56);
    qxai_writeq(x, QXAI_CMD_HEAD, 0);
    qxai_writeq(x, QXAI_CMD_TAIL, 0);
    qxai_control_set(x, QXAI_CTRL_EVT_LOG_EN | QXAI_CTRL_CMD_BUF_EN);
    g_assert_cmpuint(info_uint(x, "log-drops"), ==, 0);
    qxai_submit(x, 0, 0);
    g_assert_false(qxai_readq(x, QXAI_STATUS) & QXAI_ST_EVT_RUN);
    g_assert_cmpuint(info_uint(x, "log-drops"), ==, 1);

    /* After all that the device still works */
    qxai_control_clear(x, QXAI_CTRL_CMD_BUF_EN);
    qxai_writeq(x, QXAI_CMD_HEAD, 0);
    qxai_writeq(x, QXAI_CMD_TAIL, 0);
    qxai_control_set(x, QXAI_CTRL_CMD_BUF_EN);
    qtest_writeq(x->qts, sem, 0);
    qxai_submit(x, qxai_cmd(QXAI_CMD_COMPLETION_WAIT, sem | 1), 42);
    g_assert_cmphex(qtest_readq(x->qts, sem), ==, 42);
    qxai_stop(x);
}

/*
 * Rings at the top of the 52-bit address space, of the largest length,
 * so that they run past it: an entry there is accessed at its own
 * address (a hardware error, nothing is RAM there), never wrapped to low
 * memory
 */
static void test_hostile_base_overflow(void)
{
    QXenAmdIommuV2 *x = start_running();
    const uint64_t top = 0x000ffffffffff000ULL;
    const uint64_t last = top + 32767 * 16;     /* beyond 2^52 */
    const uint64_t wrapped = last & ((1ULL << 52) - 1);
    uint64_t ev[2];

    g_assert_cmphex(last >> 52, ==, 1);
    qtest_memset(x->qts, wrapped, 0xa5, 16);

    /* the command buffer's last entry is fetched beyond 2^52 */
    qxai_control_clear(x, QXAI_CTRL_CMD_BUF_EN);
    qxai_writeq(x, QXAI_CMD_BASE, top | 15ULL << 56);
    g_assert_cmphex(qxai_readq(x, QXAI_CMD_BASE), ==, top | 15ULL << 56);
    qxai_writeq(x, QXAI_CMD_HEAD, 32767 << 4);
    qxai_writeq(x, QXAI_CMD_TAIL, 32767 << 4);
    qxai_control_set(x, QXAI_CTRL_CMD_BUF_EN);
    g_assert(qxai_readq(x, QXAI_STATUS) & QXAI_ST_CMD_RUN);
    qxai_writeq(x, QXAI_CMD_TAIL, 0);
    g_assert_false(qxai_readq(x, QXAI_STATUS) & QXAI_ST_CMD_RUN);
    g_assert_cmpuint(ring_ptr(x, QXAI_CMD_HEAD), ==, 32767);
    g_assert_cmpuint(ring_ptr(x, QXAI_EVT_TAIL), ==, 1);
    qxai_log_entry(x, x->evt, 0, ev);
    g_assert_cmphex(ev[0] >> 60, ==, QXAI_EVT_COMMAND_HW_ERROR);
    g_assert_cmphex(ev[1], ==, last);
    g_assert_cmpuint(info_uint(x, "illegal-commands"), ==, 0);

    /* the event log's last entry: not written anywhere, dropped */
    qxai_control_clear(x, QXAI_CTRL_EVT_LOG_EN | QXAI_CTRL_CMD_BUF_EN);
    qxai_writeq(x, QXAI_EVT_BASE, top | 15ULL << 56);
    qxai_writeq(x, QXAI_EVT_HEAD, 32767 << 4);
    qxai_writeq(x, QXAI_EVT_TAIL, 32767 << 4);
    qxai_writeq(x, QXAI_CMD_BASE, x->cmd | 8ULL << 56);
    qxai_writeq(x, QXAI_CMD_HEAD, 0);
    qxai_writeq(x, QXAI_CMD_TAIL, 0);
    qxai_control_set(x, QXAI_CTRL_EVT_LOG_EN | QXAI_CTRL_CMD_BUF_EN);
    g_assert(qxai_readq(x, QXAI_STATUS) & QXAI_ST_EVT_RUN);
    qxai_submit(x, 0, 0);                       /* an illegal command */
    g_assert_false(qxai_readq(x, QXAI_STATUS) & QXAI_ST_EVT_RUN);
    g_assert_cmpuint(info_uint(x, "log-drops"), ==, 1);
    g_assert_cmpuint(ring_ptr(x, QXAI_EVT_TAIL), ==, 32767);
    g_assert_cmphex(qtest_readq(x->qts, wrapped), ==, 0xa5a5a5a5a5a5a5a5ULL);
    g_assert_cmphex(qtest_readq(x->qts, wrapped + 8), ==,
                    0xa5a5a5a5a5a5a5a5ULL);
    qxai_stop(x);
}

/*
 * The IOMMU's MSI aimed at its own doorbell: the message is the IOMMU's
 * write into its own window while it serves a register write, which
 * QEMU's re-entrancy guard drops. Nothing runs twice, nothing deadlocks,
 * and the device goes on.
 */
static void test_hostile_msi_at_registers(void)
{
    QXenAmdIommuV2 *x = start_running();
    uint8_t msi = qpci_find_capability(x->dev, PCI_CAP_ID_MSI, 0);
    uint64_t sem = guest_alloc(&x->alloc, 64);
    uint64_t doorbell = x->bar.addr + QXAI_CMD_TAIL;

    g_assert(msi);
    qpci_config_writel(x->dev, msi + PCI_MSI_ADDRESS_LO, (uint32_t)doorbell);
    qpci_config_writel(x->dev, msi + PCI_MSI_ADDRESS_HI, doorbell >> 32);
    qpci_config_writew(x->dev, msi + PCI_MSI_DATA_64, 3 << 4);
    qpci_config_writew(x->dev, msi + PCI_MSI_FLAGS,
                       qpci_config_readw(x->dev, msi + PCI_MSI_FLAGS) |
                       PCI_MSI_FLAGS_ENABLE);
    qxai_control_set(x, QXAI_CTRL_COMWAIT_INT_EN);

    /* entry 0 interrupts; entries 1 and 2 run only if the MSI rang */
    qtest_writeq(x->qts, sem, 0);
    qtest_writeq(x->qts, x->cmd + 16,
                 qxai_cmd(QXAI_CMD_COMPLETION_WAIT, sem | 1));
    qtest_writeq(x->qts, x->cmd + 24, 11);
    qtest_writeq(x->qts, x->cmd + 32, qxai_cmd(QXAI_CMD_INV_ALL, 0));
    qtest_writeq(x->qts, x->cmd + 40, 0);
    qxai_submit(x, qxai_cmd(QXAI_CMD_COMPLETION_WAIT, 2), 0);
    g_assert(qxai_readq(x, QXAI_STATUS) & QXAI_ST_COMWAIT_INT);
    g_assert_cmpuint(info_uint(x, "interrupts"), ==, 0);   /* not sent */
    g_assert_cmpuint(ring_ptr(x, QXAI_CMD_TAIL), ==, 1);
    g_assert_cmpuint(ring_ptr(x, QXAI_CMD_HEAD), ==, 1);
    g_assert_cmphex(qtest_readq(x->qts, sem), ==, 0);

    /* the guest's own doorbell runs them, each once */
    qxai_writeq(x, QXAI_CMD_TAIL, 3 << 4);
    g_assert_cmphex(qtest_readq(x->qts, sem), ==, 11);
    g_assert_cmpuint(command_count(x, QXAI_CMD_INV_ALL), ==, 1);
    g_assert_cmpuint(command_count(x, QXAI_CMD_COMPLETION_WAIT), ==, 2);
    g_assert(qxai_readq(x, QXAI_STATUS) & QXAI_ST_CMD_RUN);
    qxai_stop(x);
}

/* Every register, every size, all ones then zero: no crash, still works */
static void test_hostile_all_registers(void)
{
    QXenAmdIommuV2 *x = start_running();
    uint64_t sem;
    uint64_t off;

    for (off = 0; off < 0x4000; off += 8) {
        bool reserved = (off >= 0x58 && off < 0x2000) || off == 0x2028 ||
                        off >= 0x2040;

        if (off > 0x60 && off < 0x1ff8) {
            off = 0x1ff8 - 8;           /* reserved span: sample its ends */
            continue;
        }
        qpci_io_writeb(x->dev, x->bar, off + 1, 0xff);
        qpci_io_writew(x->dev, x->bar, off + 2, 0xffff);
        qpci_io_writel(x->dev, x->bar, off + 4, 0xffffffff);
        qpci_io_writeq(x->dev, x->bar, off, ~0ULL);
        if (reserved) {
            /* reserved offsets read 0 at every size, whatever was written */
            g_assert_cmphex(qpci_io_readb(x->dev, x->bar, off + 3), ==, 0);
            g_assert_cmphex(qpci_io_readw(x->dev, x->bar, off + 6), ==, 0);
            g_assert_cmphex(qpci_io_readl(x->dev, x->bar, off), ==, 0);
            g_assert_cmphex(qpci_io_readq(x->dev, x->bar, off), ==, 0);
        } else {
            qpci_io_readb(x->dev, x->bar, off + 3);
            qpci_io_readw(x->dev, x->bar, off + 6);
            qpci_io_readl(x->dev, x->bar, off);
            qpci_io_readq(x->dev, x->bar, off);
        }
    }
    /*
     * The guest reprograms from scratch, without a reset, and the device
     * works: nothing written above wedged it
     */
    qxai_writeq(x, QXAI_CONTROL, 0);
    qxai_writeq(x, QXAI_STATUS, ~0ULL);
    qxai_writeq(x, QXAI_EXCL_BASE, 0);
    qxai_setup_rings(x, LOG2_ENTRIES);
    qxai_control_set(x, QXAI_CTRL_IOMMU_EN | QXAI_CTRL_CMD_BUF_EN);
    sem = guest_alloc(&x->alloc, 64);
    qxai_submit(x, qxai_cmd(QXAI_CMD_COMPLETION_WAIT, sem | 1), 99);
    g_assert_cmphex(qtest_readq(x->qts, sem), ==, 99);

    /*
     * An unaligned access: a CPU's is refused by QEMU's memory core (the
     * window declares none); a DMA's is split into aligned pieces, each a
     * register access as above. Four bytes at CMD_TAIL - 2: the high
     * bytes of CMD_HEAD (read-only to the guest while it runs) and the
     * doorbell.
     */
    qtest_writeq(x->qts, sem, 0);
    qxai_queue(x, qxai_cmd(QXAI_CMD_COMPLETION_WAIT, sem | 1), 7);
    qtest_writel(x->qts, x->bar.addr + QXAI_CMD_TAIL - 2, 0x0020ffff);
    g_assert_cmphex(qtest_readq(x->qts, sem), ==, 7);
    g_assert_cmpuint(ring_ptr(x, QXAI_CMD_HEAD), ==, 2);
    g_assert_cmphex(qxai_readq(x, QXAI_CMD_HEAD), ==, 0x20);
    qxai_stop(x);
}

/* A full ring of commands is drained by one doorbell, and no more */
static void test_one_ring_per_doorbell(void)
{
    QXenAmdIommuV2 *x = start_running();
    uint64_t sem = guest_alloc(&x->alloc, 64);
    int i;

    qxai_control_clear(x, QXAI_CTRL_CMD_BUF_EN);
    for (i = 0; i < 254; i++) {
        qxai_writeq(x, QXAI_CMD_TAIL,
                    (uint64_t)qxai_queue(x, qxai_cmd(QXAI_CMD_INV_ALL, 0), 0)
                    << 4);
    }
    qtest_writeq(x->qts, sem, 0);
    qxai_writeq(x, QXAI_CMD_TAIL,
                (uint64_t)qxai_queue(x, qxai_cmd(QXAI_CMD_COMPLETION_WAIT,
                                                 sem | 1), 5) << 4);
    g_assert_cmpuint(ring_ptr(x, QXAI_CMD_HEAD), ==, 0);
    qxai_control_set(x, QXAI_CTRL_CMD_BUF_EN);
    g_assert_cmpuint(ring_ptr(x, QXAI_CMD_HEAD), ==, 255);
    g_assert_cmphex(qtest_readq(x->qts, sem), ==, 5);
    g_assert_cmpuint(command_count(x, QXAI_CMD_INV_ALL), ==, 254);
    qxai_stop(x);
}

/*
 * DMA remapping, driven by QEMU's edu device (a PCI DMA engine) placed
 * behind the IOMMU: its transfers go through the IOMMU's translation.
 */

#define EDU_DEVFN       QPCI_DEVFN(5, 0)
#define EDU_DEVID       0x0028
#define EDU_BUF         0x40000         /* edu's internal DMA buffer */
#define DOMID           0x2a

/* Host page table entry bits (spec 2.2.3) */
#define PTE_PR          1ULL
#define PTE_NEXT(l)     ((uint64_t)(l) << 9)
#define PTE_IR          (1ULL << 61)
#define PTE_IW          (1ULL << 62)
/* DTE bits (spec 2.2.2) */
#define DTE_V           1ULL
#define DTE_TV          2ULL
#define DTE_MODE(m)     ((uint64_t)(m) << 9)
#define DTE_IR          (1ULL << 61)
#define DTE_IW          (1ULL << 62)
#define DTE1_SA         (1ULL << 34)

typedef struct Remap {
    QXenAmdIommuV2 *x;
    QPCIDevice *edu;
    QPCIBar edu_bar;
    uint64_t devtab;
} Remap;

static uint64_t zero_page(QXenAmdIommuV2 *x)
{
    uint64_t p = guest_alloc(&x->alloc, 4096);

    g_assert_cmphex(p & 0xfff, ==, 0);
    qtest_memset(x->qts, p, 0, 4096);
    return p;
}

static uint64_t page(Remap *r)
{
    return zero_page(r->x);
}

static Remap *remap_start(void)
{
    Remap *r = g_new0(Remap, 1);

    r->x = qxai_start("q35", NULL, "-device edu,addr=05.0");
    r->edu = qpci_device_find(r->x->bus, EDU_DEVFN);
    g_assert(r->edu);
    qpci_device_enable(r->edu);
    r->edu_bar = qpci_iomap(r->edu, 0, NULL);
    qxai_setup_rings(r->x, LOG2_ENTRIES);
    r->devtab = page(r);                /* 128 entries: size field 0 */
    qxai_writeq(r->x, QXAI_DEVTAB_BASE, r->devtab);
    return r;
}

static void remap_stop(Remap *r)
{
    g_free(r->edu);
    qxai_stop(r->x);
    g_free(r);
}

static void set_dte(Remap *r, uint64_t q0, uint64_t q1)
{
    qtest_writeq(r->x->qts, r->devtab + EDU_DEVID * 32, q0);
    qtest_writeq(r->x->qts, r->devtab + EDU_DEVID * 32 + 8, q1);
}

static void iommu_on(Remap *r)
{
    qxai_control_set(r->x, QXAI_CTRL_IOMMU_EN | QXAI_CTRL_CMD_BUF_EN |
                     QXAI_CTRL_EVT_LOG_EN);
}

/* Run one edu transfer of 8 bytes; false if edu saw it fail. */
static void edu_dma(Remap *r, uint64_t src, uint64_t dst, bool to_ram)
{
    qpci_io_writeq(r->edu, r->edu_bar, 0x80, src);
    qpci_io_writeq(r->edu, r->edu_bar, 0x88, dst);
    qpci_io_writeq(r->edu, r->edu_bar, 0x90, 8);
    qpci_io_writeq(r->edu, r->edu_bar, 0x98, 1 | (to_ram ? 2 : 0));
    qtest_clock_step(r->x->qts, 200 * 1000 * 1000);
    g_assert_cmphex(qpci_io_readq(r->edu, r->edu_bar, 0x98) & 1, ==, 0);
}

/* Copy 8 bytes from IOVA src to IOVA dst through edu's buffer */
static void edu_copy(Remap *r, uint64_t src, uint64_t dst)
{
    edu_dma(r, src, EDU_BUF, false);
    edu_dma(r, EDU_BUF, dst, true);
}

/* A 4-level host table mapping iova to pa with the given permissions */
static uint64_t host_map4(QXenAmdIommuV2 *x, uint64_t root, uint64_t iova,
                          uint64_t pa, uint64_t perm)
{
    uint64_t table = root ? root : zero_page(x);
    uint64_t t = table;
    int level;

    for (level = 4; level > 1; level--) {
        uint64_t at = t + ((iova >> (12 + 9 * (level - 1))) & 0x1ff) * 8;
        uint64_t pte = qtest_readq(x->qts, at);

        if (!(pte & PTE_PR)) {
            pte = zero_page(x) | PTE_NEXT(level - 1) | PTE_PR | PTE_IR |
                  PTE_IW;
            qtest_writeq(x->qts, at, pte);
        }
        t = pte & 0x000ffffffffff000ULL;
    }
    qtest_writeq(x->qts, t + ((iova >> 12) & 0x1ff) * 8, pa | PTE_PR | perm);
    return table;
}

static uint64_t map4(Remap *r, uint64_t root, uint64_t iova, uint64_t pa,
                     uint64_t perm)
{
    return host_map4(r->x, root, iova, pa, perm);
}

static void expect_event(Remap *r, uint32_t index, unsigned code,
                         uint64_t addr, uint16_t flags_set,
                         uint16_t flags_clear)
{
    uint64_t ev[2];
    uint16_t flags;

    g_assert_cmpuint(ring_ptr(r->x, QXAI_EVT_TAIL), >, index);
    qxai_log_entry(r->x, r->x->evt, index, ev);
    flags = (ev[0] >> 48) & 0xfff;
    g_assert_cmphex(ev[0] >> 60, ==, code);
    g_assert_cmphex(ev[0] & 0xffff, ==, EDU_DEVID);
    g_assert_cmphex(ev[1], ==, addr);
    g_assert_cmphex(flags & flags_set, ==, flags_set);
    g_assert_cmphex(flags & flags_clear, ==, 0);
    if (code == 2) {
        g_assert_cmphex((ev[0] >> 32) & 0xffff, ==, DOMID);
    }
}

static void test_remap_passthrough(void)
{
    Remap *r = remap_start();
    uint64_t a = page(r), b = page(r);

    /* IOMMU off: untranslated */
    qtest_writeq(r->x->qts, a, 0x1111);
    edu_copy(r, a, b);
    g_assert_cmphex(qtest_readq(r->x->qts, b), ==, 0x1111);
    /* IOMMU on, DTE V=0: untranslated too */
    iommu_on(r);
    qtest_writeq(r->x->qts, a, 0x2222);
    edu_copy(r, a, b);
    g_assert_cmphex(qtest_readq(r->x->qts, b), ==, 0x2222);
    /* V=1 TV=1 mode 0: filter by DTE permissions; read-only blocks writes */
    set_dte(r, DTE_V | DTE_TV | DTE_IR, DOMID);
    qtest_writeq(r->x->qts, a, 0x3333);
    edu_copy(r, a, b);
    g_assert_cmphex(qtest_readq(r->x->qts, b), ==, 0x2222);
    expect_event(r, 0, 2, b, 0x070, 0);     /* RW, PR, PE */
    /* The same transfer again is another fault */
    edu_copy(r, a, b);
    expect_event(r, 1, 2, b, 0x070, 0);

    /* V=1 TV=0 (Linux's blocked domain): nothing gets through */
    set_dte(r, DTE_V, DOMID);
    qxai_submit(r->x, qxai_cmd(QXAI_CMD_INV_DEVTAB_ENTRY, EDU_DEVID), 0);
    qtest_writeq(r->x->qts, a, 0x4444);
    edu_copy(r, a, b);
    g_assert_cmphex(qtest_readq(r->x->qts, b), ==, 0x2222);
    expect_event(r, 2, 2, a, 0x050, 0x020);     /* read: PR, PE */
    expect_event(r, 3, 2, b, 0x070, 0);
    /* ... and V, IR, IW without TV (Linux's SNP identity): untranslated */
    set_dte(r, DTE_V | DTE_IR | DTE_IW, DOMID);
    qxai_submit(r->x, qxai_cmd(QXAI_CMD_INV_DEVTAB_ENTRY, EDU_DEVID), 0);
    edu_copy(r, a, b);
    g_assert_cmphex(qtest_readq(r->x->qts, b), ==, 0x4444);
    g_assert_cmpuint(ring_ptr(r->x, QXAI_EVT_TAIL), ==, 4);
    /* None of it walked a page table: QMP counts no translation */
    g_assert_cmpuint(info_uint(r->x, "translations"), ==, 0);
    remap_stop(r);
}

/*
 * A device ID beyond the device table the guest sized (128 entries here,
 * edu at 00:10.0 is device 80h): ILLEGAL_DEV_TABLE_ENTRY, and its DMA
 * does not pass; one within still works
 */
static void test_remap_devid_beyond_table(void)
{
    Remap *r = g_new0(Remap, 1);
    uint64_t a, b, ev[2];

    r->x = qxai_start("q35", NULL, "-device edu,addr=10.0");
    r->edu = qpci_device_find(r->x->bus, QPCI_DEVFN(0x10, 0));
    g_assert(r->edu);
    qpci_device_enable(r->edu);
    r->edu_bar = qpci_iomap(r->edu, 0, NULL);
    qxai_setup_rings(r->x, LOG2_ENTRIES);
    r->devtab = page(r);
    qxai_writeq(r->x, QXAI_DEVTAB_BASE, r->devtab);
    a = page(r);
    b = page(r);
    qtest_writeq(r->x->qts, a, 0x8080);
    iommu_on(r);
    edu_copy(r, a, b);
    g_assert_cmphex(qtest_readq(r->x->qts, b), ==, 0);
    g_assert_cmpuint(ring_ptr(r->x, QXAI_EVT_TAIL), >=, 1);
    qxai_log_entry(r->x, r->x->evt, 0, ev);
    g_assert_cmphex(ev[0] >> 60, ==, 1);
    g_assert_cmphex(ev[0] & 0xffff, ==, 0x80);
    g_assert_cmphex(ev[1], ==, a);
    /* a table of 256 entries holds it (V=0 there: untranslated) */
    r->devtab = guest_alloc(&r->x->alloc, 8192);
    g_assert_cmphex(r->devtab & 0xfff, ==, 0);
    qtest_memset(r->x->qts, r->devtab, 0, 8192);
    qxai_writeq(r->x, QXAI_DEVTAB_BASE, r->devtab | 1);
    edu_copy(r, a, b);
    g_assert_cmphex(qtest_readq(r->x->qts, b), ==, 0x8080);
    remap_stop(r);
}

static void test_remap_4level(void)
{
    Remap *r = remap_start();
    uint64_t src = page(r), dst = page(r), ro = page(r);
    uint64_t iova_src = 0x01234000, iova_dst = 0x0abcd000;
    uint64_t iova_ro = 0x00400000, iova_none = 0x00500000;
    uint64_t root;

    root = map4(r, 0, iova_src, src, PTE_IR);
    map4(r, root, iova_dst, dst, PTE_IR | PTE_IW);
    map4(r, root, iova_ro, ro, PTE_IR);
    set_dte(r, root | DTE_MODE(4) | DTE_V | DTE_TV | DTE_IR | DTE_IW, DOMID);
    iommu_on(r);

    qtest_writeq(r->x->qts, src + 0x18, 0xfeedfacecafebeefULL);
    edu_copy(r, iova_src + 0x18, iova_dst + 0x20);
    g_assert_cmphex(qtest_readq(r->x->qts, dst + 0x20), ==,
                    0xfeedfacecafebeefULL);
    g_assert_cmpuint(ring_ptr(r->x, QXAI_EVT_TAIL), ==, 0);

    /* Write to a read-only page: IO_PAGE_FAULT, present, write */
    edu_copy(r, iova_src, iova_ro + 8);
    g_assert_cmphex(qtest_readq(r->x->qts, ro + 8), ==, 0);
    expect_event(r, 0, 2, iova_ro + 8, 0x070, 0x001);
    /* Read of an unmapped page: not present, read */
    edu_dma(r, iova_none, EDU_BUF, false);
    expect_event(r, 1, 2, iova_none, 0, 0x070);
    remap_stop(r);
}

/*
 * The exclusion range: untagged DMA inside it is not translated, for a
 * device whose entry sets EX, or for all with Allow; outside it, or with
 * neither, the tables apply.
 */
static void test_remap_exclusion(void)
{
    Remap *r = remap_start();
    uint64_t mapped = page(r), excl = page(r), out = page(r), root;
    const uint64_t dte0_ex = 1ULL << 39, iova_out = 0x00700000;

    /* excl's own page is also an IOVA that the tables map to mapped */
    root = map4(r, 0, excl, mapped, PTE_IR | PTE_IW);
    map4(r, root, iova_out, out, PTE_IR | PTE_IW);
    set_dte(r, root | DTE_MODE(4) | DTE_V | DTE_TV | DTE_IR | DTE_IW, DOMID);
    iommu_on(r);
    qtest_writeq(r->x->qts, mapped, 0x1111);
    qtest_writeq(r->x->qts, excl, 0x2222);

    /* Range on, but EX clear and no Allow: translated */
    qxai_writeq(r->x, QXAI_EXCL_BASE, excl | 1);
    qxai_writeq(r->x, QXAI_EXCL_LIMIT, excl);
    edu_dma(r, excl, EDU_BUF, false);
    edu_dma(r, EDU_BUF, iova_out, true);
    g_assert_cmphex(qtest_readq(r->x->qts, out), ==, 0x1111);

    /* EX set: untranslated, to the last byte of the limit's page */
    set_dte(r, root | DTE_MODE(4) | DTE_V | DTE_TV | DTE_IR | DTE_IW,
            DOMID | dte0_ex);
    qxai_submit(r->x, qxai_cmd(QXAI_CMD_INV_DEVTAB_ENTRY, EDU_DEVID), 0);
    edu_dma(r, excl, EDU_BUF, false);
    edu_dma(r, EDU_BUF, iova_out, true);
    g_assert_cmphex(qtest_readq(r->x->qts, out), ==, 0x2222);
    qtest_writeq(r->x->qts, excl + 0xff8, 0x3333);
    edu_dma(r, excl + 0xff8, EDU_BUF, false);
    edu_dma(r, EDU_BUF, iova_out, true);
    g_assert_cmphex(qtest_readq(r->x->qts, out), ==, 0x3333);

    /* Range off: translated again */
    qxai_writeq(r->x, QXAI_EXCL_BASE, excl);
    edu_dma(r, excl, EDU_BUF, false);
    edu_dma(r, EDU_BUF, iova_out, true);
    g_assert_cmphex(qtest_readq(r->x->qts, out), ==, 0x1111);

    /* Allow: every device, EX or not */
    set_dte(r, root | DTE_MODE(4) | DTE_V | DTE_TV | DTE_IR | DTE_IW, DOMID);
    qxai_submit(r->x, qxai_cmd(QXAI_CMD_INV_DEVTAB_ENTRY, EDU_DEVID), 0);
    qxai_writeq(r->x, QXAI_EXCL_BASE, excl | 3);
    edu_dma(r, excl, EDU_BUF, false);
    edu_dma(r, EDU_BUF, iova_out, true);
    g_assert_cmphex(qtest_readq(r->x->qts, out), ==, 0x2222);
    g_assert_cmpuint(ring_ptr(r->x, QXAI_EVT_TAIL), ==, 0);

    /* A limit below the base: an empty range, everything translated */
    qxai_writeq(r->x, QXAI_EXCL_LIMIT, excl - 0x1000);
    edu_dma(r, excl, EDU_BUF, false);
    edu_dma(r, EDU_BUF, iova_out, true);
    g_assert_cmphex(qtest_readq(r->x->qts, out), ==, 0x1111);

    /* The whole space: untagged DMA untranslated anywhere (out unmapped) */
    qxai_writeq(r->x, QXAI_EXCL_BASE, 3);
    qxai_writeq(r->x, QXAI_EXCL_LIMIT, ~0ULL);
    qtest_writeq(r->x->qts, out, 0);
    edu_dma(r, excl, EDU_BUF, false);
    edu_dma(r, EDU_BUF, out, true);
    g_assert_cmphex(qtest_readq(r->x->qts, out), ==, 0x2222);
    g_assert_cmpuint(ring_ptr(r->x, QXAI_EVT_TAIL), ==, 0);
    remap_stop(r);
}

static void test_remap_large_and_skip(void)
{
    Remap *r = remap_start();
    uint64_t big = 0x2000000;           /* 2 MiB aligned guest RAM */
    uint64_t dst = page(r);
    uint64_t l4 = page(r), l3 = page(r), l2 = page(r), l1 = page(r);
    uint64_t iova = 0x00600000;         /* in the 2 MiB page at 0x600000 */

    /* 4 -> 3 -> 2, where a level-2 PTE maps a 2 MiB page (next = 0) */
    qtest_writeq(r->x->qts, l4, l3 | PTE_NEXT(3) | PTE_PR | PTE_IR | PTE_IW);
    qtest_writeq(r->x->qts, l3, l2 | PTE_NEXT(2) | PTE_PR | PTE_IR | PTE_IW);
    qtest_writeq(r->x->qts, l2 + 3 * 8, big | PTE_PR | PTE_IR | PTE_IW);
    /* and a level-2 entry that skips to... level 1 for 0x0 - 0x1fffff */
    qtest_writeq(r->x->qts, l2, l1 | PTE_NEXT(1) | PTE_PR | PTE_IR | PTE_IW);
    qtest_writeq(r->x->qts, l1 + 7 * 8, dst | PTE_PR | PTE_IR | PTE_IW);
    set_dte(r, l4 | DTE_MODE(4) | DTE_V | DTE_TV | DTE_IR | DTE_IW, DOMID);
    iommu_on(r);

    qtest_writeq(r->x->qts, big + 0x12340, 0xabad1dea);
    edu_copy(r, iova + 0x12340, 0x7000 + 0x10);
    g_assert_cmphex(qtest_readq(r->x->qts, dst + 0x10), ==, 0xabad1dea);
    g_assert_cmpuint(info_uint(r->x, "translations"), >=, 2);

    /*
     * Next level 7: a 16 KiB page, its size in the address bits (bit 12
     * set, bit 13 clear), the PTE repeated over its four slots. Linux
     * maps vrings so.
     */
    {
        uint64_t l1b = page(r), pa16k = 0x3000000;
        int i;

        qtest_writeq(r->x->qts, l2 + 2 * 8,
                     l1b | PTE_NEXT(1) | PTE_PR | PTE_IR | PTE_IW);
        for (i = 0; i < 4; i++) {
            qtest_writeq(r->x->qts, l1b + i * 8, pa16k | 0x1000 |
                         PTE_NEXT(7) | PTE_PR | PTE_IR | PTE_IW);
        }
        qtest_writeq(r->x->qts, pa16k + 0x3008, 0x16c0de);
        edu_copy(r, 0x400000 + 0x3008, 0x7000 + 0x10);
        g_assert_cmphex(qtest_readq(r->x->qts, dst + 0x10), ==, 0x16c0de);

        /* a level-1 size encoding of 2 MiB: beyond its level's range */
        qtest_writeq(r->x->qts, l1b + 8 * 8, 0x40ff000 | PTE_NEXT(7) |
                     PTE_PR | PTE_IR | PTE_IW);
        edu_dma(r, 0x408008, EDU_BUF, false);
        expect_event(r, 0, 2, 0x408008, 0, 0);
    }

    /* A walk only goes down: a level-2 entry naming level 2 */
    qtest_writeq(r->x->qts, l2 + 4 * 8,
                 l1 | PTE_NEXT(2) | PTE_PR | PTE_IR | PTE_IW);
    edu_dma(r, 0x800008, EDU_BUF, false);
    expect_event(r, 1, 2, 0x800008, 0, 0);

    /* Mode 3 root whose level-3 entry skips straight to level 1 */
    {
        uint64_t root = page(r), leaf = page(r), pa = page(r);

        qtest_writeq(r->x->qts, root,
                     leaf | PTE_NEXT(1) | PTE_PR | PTE_IR | PTE_IW);
        qtest_writeq(r->x->qts, leaf + 2 * 8, pa | PTE_PR | PTE_IR | PTE_IW);
        qtest_writeq(r->x->qts, leaf + 7 * 8, dst | PTE_PR | PTE_IR | PTE_IW);
        set_dte(r, root | DTE_MODE(3) | DTE_V | DTE_TV | DTE_IR | DTE_IW,
                DOMID);
        qxai_submit(r->x, qxai_cmd(QXAI_CMD_INV_DEVTAB_ENTRY, EDU_DEVID), 0);
        qtest_writeq(r->x->qts, pa + 8, 0x5151);
        edu_copy(r, 0x2008, 0x7000 + 0x10);
        g_assert_cmphex(qtest_readq(r->x->qts, dst + 0x10), ==, 0x5151);
        /* the level-2 index bits were skipped: they must be zero */
        edu_dma(r, 0x2008 | (1 << 21), EDU_BUF, false);
        expect_event(r, 2, 2, 0x2008 | (1 << 21), 0, 0);
    }
    remap_stop(r);
}

/* No RAM, no device: what a table pointer may name in a hostile guest */
#define UNASSIGNED_PAGE 0xfffff000000ULL

/* Hostile translation structures: tables over MMIO, bad modes, sizes */
static void test_remap_hostile_tables(void)
{
    Remap *r = remap_start();
    uint64_t dst = page(r);
    uint64_t regs = r->x->bar.addr;

    iommu_on(r);
    /* Mode 7 is reserved: ILLEGAL_DEV_TABLE_ENTRY, access aborted */
    set_dte(r, page(r) | DTE_MODE(7) | DTE_V | DTE_TV | DTE_IR | DTE_IW,
            DOMID);
    qtest_writeq(r->x->qts, dst, 0x77);
    edu_dma(r, EDU_BUF, dst + 3, true);
    g_assert_cmphex(qtest_readq(r->x->qts, dst), ==, 0x77);
    /* the address's bits 1:0 are reserved in this event */
    expect_event(r, 0, 1, dst, 0, 0);

    /*
     * A page table over the IOMMU's own registers: a hardware error, of
     * type master abort (flags bit 9), at the entry the walk read (the
     * first of the top table) in the domain, with the write flag; kept in
     * the hardware event registers too.
     */
    set_dte(r, regs | DTE_MODE(4) | DTE_V | DTE_TV | DTE_IR | DTE_IW,
            DOMID);
    qxai_submit(r->x, qxai_cmd(QXAI_CMD_INV_DEVTAB_ENTRY, EDU_DEVID), 0);
    g_assert_cmphex(qxai_readq(r->x, QXAI_HW_EVT_STATUS), ==, 0);
    edu_dma(r, EDU_BUF, dst, true);
    g_assert_cmphex(qtest_readq(r->x->qts, dst), ==, 0x77);
    expect_event(r, 1, 4, regs, 0x220, 0x001);
    {
        uint64_t ev[2];

        qxai_log_entry(r->x, r->x->evt, 1, ev);
        g_assert_cmphex((ev[0] >> 32) & 0xffff, ==, DOMID);
        g_assert_cmphex(qxai_readq(r->x, QXAI_HW_EVT_STATUS), ==, 1);
        g_assert_cmphex(qxai_readq(r->x, QXAI_HW_EVT_HI), ==, ev[0]);
        g_assert_cmphex(qxai_readq(r->x, QXAI_HW_EVT_LO), ==, ev[1]);
    }

    /*
     * The device table itself over MMIO: DEV_TAB_HARDWARE_ERROR at the
     * entry's address; the registers keep the first error, HEO says
     * another came, and both clear when written with ones.
     */
    qxai_control_clear(r->x, QXAI_CTRL_IOMMU_EN);
    qxai_writeq(r->x, QXAI_DEVTAB_BASE, regs);
    qxai_control_set(r->x, QXAI_CTRL_IOMMU_EN);
    edu_dma(r, EDU_BUF, dst, true);
    expect_event(r, 2, 3, (regs + EDU_DEVID * 32) & ~0xfULL, 0x220, 0);
    g_assert_cmphex(qxai_readq(r->x, QXAI_HW_EVT_STATUS), ==, 3);
    g_assert_cmphex(qxai_readq(r->x, QXAI_HW_EVT_LO), ==, regs);
    qxai_writeq(r->x, QXAI_HW_EVT_STATUS, 3);
    g_assert_cmphex(qxai_readq(r->x, QXAI_HW_EVT_STATUS), ==, 0);

    /*
     * A PTE of all ones (next level 7, no clear address bit to end the
     * size): no page size, a fault. Found by fuzzing (a shift by 65).
     */
    {
        uint64_t l4 = page(r), l3 = page(r), l2 = page(r), l1 = page(r);

        qtest_writeq(r->x->qts, l4, l3 | PTE_NEXT(3) | PTE_PR | PTE_IR |
                     PTE_IW);
        qtest_writeq(r->x->qts, l3, l2 | PTE_NEXT(2) | PTE_PR | PTE_IR |
                     PTE_IW);
        qtest_writeq(r->x->qts, l2, l1 | PTE_NEXT(1) | PTE_PR | PTE_IR |
                     PTE_IW);
        qtest_writeq(r->x->qts, l1 + 8 * 8, ~0ULL);
        qxai_control_clear(r->x, QXAI_CTRL_IOMMU_EN);
        qxai_writeq(r->x, QXAI_DEVTAB_BASE, r->devtab);
        set_dte(r, l4 | DTE_MODE(4) | DTE_V | DTE_TV | DTE_IR | DTE_IW,
                DOMID);
        qxai_control_set(r->x, QXAI_CTRL_IOMMU_EN);
        edu_dma(r, 0x8000, EDU_BUF, false);
        expect_event(r, 3, 2, 0x8000, 0, 0);
    }

    /* The same at level 6, where the size could reach 2^64 (fuzzing) */
    {
        uint64_t l6 = page(r);

        qtest_writeq(r->x->qts, l6, ~0ULL);
        set_dte(r, l6 | DTE_MODE(6) | DTE_V | DTE_TV | DTE_IR | DTE_IW,
                DOMID);
        qxai_submit(r->x, qxai_cmd(QXAI_CMD_INV_DEVTAB_ENTRY, EDU_DEVID), 0);
        edu_dma(r, 0x9000, EDU_BUF, false);
        expect_event(r, 4, 2, 0x9000, 0, 0);
    }

    /* A one-level table there: the entry at index 1, to its byte */
    set_dte(r, regs | DTE_MODE(1) | DTE_V | DTE_TV | DTE_IR | DTE_IW, DOMID);
    qxai_submit(r->x, qxai_cmd(QXAI_CMD_INV_DEVTAB_ENTRY, EDU_DEVID), 0);
    edu_dma(r, 0x1000, EDU_BUF, false);
    expect_event(r, 5, 4, regs + 8, 0x200, 0x021);

    /* Through all of it the device kept working: back to a sane table */
    qxai_control_clear(r->x, QXAI_CTRL_IOMMU_EN);
    qxai_writeq(r->x, QXAI_DEVTAB_BASE, r->devtab);
    set_dte(r, 0, 0);
    qxai_control_set(r->x, QXAI_CTRL_IOMMU_EN);
    qtest_writeq(r->x->qts, EDU_BUF, 0);
    qtest_writeq(r->x->qts, dst, 0x99);
    edu_copy(r, dst, dst + 8);
    g_assert_cmphex(qtest_readq(r->x->qts, dst + 8), ==, 0x99);
    g_assert_cmpuint(ring_ptr(r->x, QXAI_EVT_TAIL), ==, 6);
    remap_stop(r);
}

/*
 * The IOMMU on, iova mapped to page a (0xaaaa), page b holding 0xbbbb,
 * iova_dst mapped to dst; one copy through edu has cached iova's page
 */
typedef struct Cached {
    uint64_t a, b, dst, root;
} Cached;

static void cached_start(Remap *r, Cached *c, uint64_t iova,
                         uint64_t iova_dst)
{
    c->a = page(r);
    c->b = page(r);
    c->dst = page(r);
    c->root = map4(r, 0, iova, c->a, PTE_IR);
    map4(r, c->root, iova_dst, c->dst, PTE_IR | PTE_IW);
    set_dte(r, c->root | DTE_MODE(4) | DTE_V | DTE_TV | DTE_IR | DTE_IW,
            DOMID);
    iommu_on(r);
    qtest_writeq(r->x->qts, c->a, 0xaaaa);
    qtest_writeq(r->x->qts, c->b, 0xbbbb);
    edu_copy(r, iova, iova_dst);
    g_assert_cmphex(qtest_readq(r->x->qts, c->dst), ==, 0xaaaa);
}

/* A cached translation is never used after its invalidation completes */
static void test_remap_invalidation(void)
{
    Remap *r = remap_start();
    uint64_t iova = 0x00300000, iova_dst = 0x00310000;
    uint64_t sem = guest_alloc(&r->x->alloc, 8);
    Cached c;

    cached_start(r, &c, iova, iova_dst);

    /* Remap iova to page b; invalidate that page in domain DOMID; wait */
    map4(r, c.root, iova, c.b, PTE_IR);
    qxai_submit(r->x, qxai_cmd(QXAI_CMD_INV_IOMMU_PAGES,
                               (uint64_t)DOMID << 32), iova);
    qxai_submit(r->x, qxai_cmd(QXAI_CMD_COMPLETION_WAIT, sem | 1), 1);
    g_assert_cmphex(qtest_readq(r->x->qts, sem), ==, 1);
    edu_copy(r, iova, iova_dst);
    g_assert_cmphex(qtest_readq(r->x->qts, c.dst), ==, 0xbbbb);

    /* Another domain's invalidation does not count; a range one does */
    map4(r, c.root, iova, c.a, PTE_IR);
    qxai_submit(r->x, qxai_cmd(QXAI_CMD_INV_IOMMU_PAGES,
                               (uint64_t)(DOMID + 1) << 32),
                0x7ffffffffffff000ULL | 1);
    qtest_writeq(r->x->qts, c.dst, 0);
    edu_copy(r, iova, iova_dst);
    g_assert_cmphex(qtest_readq(r->x->qts, c.dst), ==, 0xbbbb);
    qxai_submit(r->x, qxai_cmd(QXAI_CMD_INV_IOMMU_PAGES,
                               (uint64_t)DOMID << 32),
                0x7ffffffffffff000ULL | 1);
    edu_copy(r, iova, iova_dst);
    g_assert_cmphex(qtest_readq(r->x->qts, c.dst), ==, 0xaaaa);

    /* DTE changes take effect after INVALIDATE_DEVTAB_ENTRY */
    set_dte(r, c.root | DTE_MODE(4) | DTE_V | DTE_TV, DOMID | DTE1_SA);
    qxai_submit(r->x, qxai_cmd(QXAI_CMD_INV_DEVTAB_ENTRY, EDU_DEVID), 0);
    qtest_writeq(r->x->qts, c.dst, 0);
    edu_copy(r, iova, iova_dst);
    g_assert_cmphex(qtest_readq(r->x->qts, c.dst), ==, 0);
    /* and SA suppressed the faults' events */
    g_assert_cmpuint(ring_ptr(r->x, QXAI_EVT_TAIL), ==, 0);

    /* INVALIDATE_IOMMU_ALL drops everything: a stale page goes */
    set_dte(r, c.root | DTE_MODE(4) | DTE_V | DTE_TV | DTE_IR | DTE_IW, DOMID);
    qxai_submit(r->x, qxai_cmd(QXAI_CMD_INV_DEVTAB_ENTRY, EDU_DEVID), 0);
    edu_copy(r, iova, iova_dst);
    g_assert_cmphex(qtest_readq(r->x->qts, c.dst), ==, 0xaaaa);
    map4(r, c.root, iova, c.b, PTE_IR);
    qtest_writeq(r->x->qts, c.dst, 0);
    edu_copy(r, iova, iova_dst);
    g_assert_cmphex(qtest_readq(r->x->qts, c.dst), ==, 0xaaaa);
    qxai_submit(r->x, qxai_cmd(QXAI_CMD_INV_ALL, 0), 0);
    edu_copy(r, iova, iova_dst);
    g_assert_cmphex(qtest_readq(r->x->qts, c.dst), ==, 0xbbbb);
    remap_stop(r);
}

/*
 * PREFETCH_IOMMU_PAGES with Inval (bit 68) is legal and drops the cached
 * translations it names before its (hinted) prefetch.
 */
static void test_remap_prefetch_inval(void)
{
    Remap *r = remap_start();
    uint64_t iova = 0x00300000, iova_dst = 0x00310000;
    Cached c;

    cached_start(r, &c, iova, iova_dst);
    map4(r, c.root, iova, c.b, PTE_IR);
    /* without Inval the prefetch leaves the cached (stale) entry */
    qxai_submit(r->x, qxai_cmd(QXAI_CMD_PREFETCH_PAGES, EDU_DEVID), iova);
    edu_copy(r, iova, iova_dst);
    g_assert_cmphex(qtest_readq(r->x->qts, c.dst), ==, 0xaaaa);
    qxai_submit(r->x, qxai_cmd(QXAI_CMD_PREFETCH_PAGES,
                               1ULL << 24 | EDU_DEVID), iova | 1ULL << 4);
    g_assert(qxai_readq(r->x, QXAI_STATUS) & QXAI_ST_CMD_RUN);
    g_assert_cmpuint(ring_ptr(r->x, QXAI_EVT_TAIL), ==, 0);
    edu_copy(r, iova, iova_dst);
    g_assert_cmphex(qtest_readq(r->x->qts, c.dst), ==, 0xbbbb);
    remap_stop(r);
}

/*
 * A guest may power off a hot-plug slot, which unplugs what is in it: a
 * PCIe-to-PCI bridge, whose secondary bus (gone with it) keyed the
 * address space of the device behind. Invalidations that name every
 * device must not look at that bus again (the sanitizer build reports
 * the use after free this was).
 */
#define RP_DEVFN        QPCI_DEVFN(7, 0)

static void test_remap_bridge_power_off(void)
{
    QXenAmdIommuV2 *x = qxai_start("q35", NULL,
        "-global ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off "
        "-device pcie-root-port,id=rp,bus=pcie.0,addr=07.0,chassis=1 "
        "-device pcie-pci-bridge,id=br,bus=rp "
        "-device edu,bus=br,addr=01.0");
    QPCIDevice *rp = qpci_device_find(x->bus, RP_DEVFN);
    uint64_t sem = guest_alloc(&x->alloc, 8);
    uint8_t exp;
    QDict *rsp;

    g_assert(rp);
    exp = qpci_find_capability(rp, PCI_CAP_ID_EXP, 0);
    g_assert(exp);
    qxai_setup_rings(x, LOG2_ENTRIES);
    qxai_control_set(x, QXAI_CTRL_IOMMU_EN | QXAI_CTRL_CMD_BUF_EN |
                     QXAI_CTRL_EVT_LOG_EN);

    /* Power off (PCC) with the indicator off: the bridge goes */
    g_assert(qpci_config_readw(rp, exp + PCI_EXP_SLTSTA) &
             PCI_EXP_SLTSTA_PDS);
    qpci_config_writew(rp, exp + PCI_EXP_SLTCTL,
                       (qpci_config_readw(rp, exp + PCI_EXP_SLTCTL) &
                        ~PCI_EXP_SLTCTL_PIC) | PCI_EXP_SLTCTL_PCC |
                       PCI_EXP_SLTCTL_PWR_IND_OFF);
    rsp = qtest_qmp(x->qts, "{'execute': 'qom-get', 'arguments': "
                    "{'path': '/machine/peripheral/br', "
                    "'property': 'type'}}");
    g_assert(qdict_haskey(rsp, "error"));
    qobject_unref(rsp);
    /*
     * Let RCU free it: a device_add that fails drains RCU's callbacks
     * before it answers
     */
    rsp = qtest_qmp(x->qts, "{'execute': 'device_add', 'arguments': "
                    "{'driver': 'no-such-device'}}");
    g_assert(qdict_haskey(rsp, "error"));
    qobject_unref(rsp);

    /* Invalidations of every device, and of one: the engine goes on */
    qxai_submit(x, qxai_cmd(QXAI_CMD_INV_DEVTAB_ENTRY, 0x0100), 0);
    qxai_submit(x, qxai_cmd(QXAI_CMD_INV_ALL, 0), 0);
    qxai_submit(x, qxai_cmd(QXAI_CMD_INV_IOMMU_PAGES, (uint64_t)DOMID << 32),
                0x7ffffffffffff000ULL | 1);
    qxai_control_clear(x, QXAI_CTRL_IOMMU_EN);
    qxai_control_set(x, QXAI_CTRL_IOMMU_EN);
    qxai_submit(x, qxai_cmd(QXAI_CMD_COMPLETION_WAIT, sem | 1), 0x5a);
    g_assert_cmphex(qtest_readq(x->qts, sem), ==, 0x5a);
    g_assert_cmpuint(ring_ptr(x, QXAI_EVT_TAIL), ==, 0);
    g_free(rp);
    qxai_stop(x);
}

/*
 * Guest translation and PPR, driven by the ATS/PRI/PASID requester:
 * PASID-tagged DMA walks the GCR3 table and the guest's x86-64 tables;
 * a fault becomes a page request in the PPR log, and the guest's
 * COMPLETE_PPR_REQUEST reaches the requester.
 */

#define RQ_DEVFN        QPCI_DEVFN(6, 0)
#define RQ_DEVID        0x0030
#define RQ_PASID        5
#define RQ_VA           0x00007f0000001000ULL
#define RQ_VA_LATE      0x00007f0000200000ULL

#define DTE_PPR         (1ULL << 52)
#define DTE_GV          (1ULL << 55)
#define GPTE_P          1ULL
#define GPTE_RW         2ULL
#define GPTE_US         4ULL
#define GPTE_PS         0x80ULL

typedef struct Pasid {
    QXenAmdIommuV2 *x;
    QPCIDevice *rq;
    QPCIBar rq_bar;
    uint64_t devtab, gcr3_table, cr3;
    int levels;             /* of the guest's tables: 4, or 5 */
} Pasid;

/*
 * Extended config space (the PASID and PRI capabilities) is reached
 * through q35's MMCONFIG window, which firmware would enable.
 */
#define Q35_PCIEXBAR        0x60
#define Q35_ECAM            0xb0000000ULL

static void ecam_enable(Pasid *p)
{
    QPCIDevice *host = qpci_device_find(p->x->bus, 0);

    qpci_config_writel(host, Q35_PCIEXBAR, (uint32_t)Q35_ECAM | 1);
    qpci_config_writel(host, Q35_PCIEXBAR + 4, 0);
    g_free(host);
}

static void ecam_writew(Pasid *p, int devfn, uint16_t reg, uint16_t val)
{
    qtest_writew(p->x->qts, Q35_ECAM + (devfn << 12) + reg, val);
}

static uint16_t ecam_readw(Pasid *p, int devfn, uint16_t reg)
{
    return qtest_readw(p->x->qts, Q35_ECAM + (devfn << 12) + reg);
}

static uint64_t pasid_page(Pasid *p)
{
    uint64_t a = guest_alloc(&p->x->alloc, 4096);

    qtest_memset(p->x->qts, a, 0, 4096);
    return a;
}

/*
 * The guest's table that holds va's entry at @level (0: the 4 KiB page
 * table, 1: the 2 MiB one), its tables above created as needed
 */
static uint64_t guest_table(Pasid *p, uint64_t va, int level)
{
    uint64_t t = p->cr3;
    int l;

    for (l = p->levels - 1; l > level; l--) {
        uint64_t at = t + ((va >> (12 + 9 * l)) & 0x1ff) * 8;
        uint64_t e = qtest_readq(p->x->qts, at);

        if (!(e & GPTE_P)) {
            e = pasid_page(p) | GPTE_P | GPTE_RW | GPTE_US;
            qtest_writeq(p->x->qts, at, e);
        }
        t = e & 0x000ffffffffff000ULL;
    }
    return t;
}

/* Map va -> pa in the guest's 4-level tables */
static void guest_map(Pasid *p, uint64_t va, uint64_t pa, uint64_t perm)
{
    qtest_writeq(p->x->qts, guest_table(p, va, 0) + ((va >> 12) & 0x1ff) * 8,
                 pa | perm);
}

/* Map a 2 MiB page va -> pa (both 2 MiB aligned): a PS entry at level 1 */
static void guest_map_2m(Pasid *p, uint64_t va, uint64_t pa, uint64_t perm)
{
    qtest_writeq(p->x->qts, guest_table(p, va, 1) + ((va >> 21) & 0x1ff) * 8,
                 pa | perm | GPTE_PS);
}

/* @dev_opts: IOMMU properties or NULL; @rq_opts: more requester ones */
static Pasid *pasid_start_opts(const char *dev_opts, const char *rq_opts)
{
    Pasid *p = g_new0(Pasid, 1);
    g_autofree char *rq = g_strdup_printf(
        "-device xen-amd-iommu-v2-requester,iommu=iommu0,addr=06.0%s",
        rq_opts);
    uint64_t gcr3;

    p->levels = 4;
    p->x = qxai_start("q35", dev_opts, rq);
    p->rq = qpci_device_find(p->x->bus, RQ_DEVFN);
    g_assert(p->rq);
    qpci_device_enable(p->rq);
    p->rq_bar = qpci_iomap(p->rq, 0, NULL);
    /* the driver turns on PASID and PRI in the device's capabilities */
    ecam_enable(p);
    ecam_writew(p, RQ_DEVFN, 0x120 + 6, 1);
    ecam_writew(p, RQ_DEVFN, 0x140 + 4, 1);

    qxai_setup_rings(p->x, LOG2_ENTRIES);
    p->devtab = pasid_page(p);
    p->gcr3_table = pasid_page(p);
    p->cr3 = pasid_page(p);
    qtest_writeq(p->x->qts, p->gcr3_table + RQ_PASID * 8, p->cr3 | 1);
    /* host side: no page table, guest-physical = system-physical */
    gcr3 = p->gcr3_table;
    qtest_writeq(p->x->qts, p->devtab + RQ_DEVID * 32,
                 DTE_V | DTE_TV | DTE_IR | DTE_IW | DTE_GV | DTE_PPR |
                 extract64(gcr3, 12, 3) << 58);
    qtest_writeq(p->x->qts, p->devtab + RQ_DEVID * 32 + 8,
                 DOMID | extract64(gcr3, 15, 16) << 16 |
                 extract64(gcr3, 31, 21) << 43);
    qxai_writeq(p->x, QXAI_DEVTAB_BASE, p->devtab);
    qxai_control_set(p->x, QXAI_CTRL_IOMMU_EN | QXAI_CTRL_CMD_BUF_EN |
                     QXAI_CTRL_EVT_LOG_EN | QXAI_CTRL_PPR_LOG_EN |
                     QXAI_CTRL_PPR_EN | QXAI_CTRL_GT_EN);
    return p;
}

static Pasid *pasid_start_with(const char *rq_opts)
{
    return pasid_start_opts(NULL, rq_opts);
}

static Pasid *pasid_start(void)
{
    return pasid_start_with("");
}

static void pasid_stop(Pasid *p)
{
    g_free(p->rq);
    qxai_stop(p->x);
    g_free(p);
}

/* One 8-byte DMA: 0 done, 1 fault (nothing sent), 2 page request sent */
static uint32_t rq_run_pasid(Pasid *p, uint32_t pasid, uint64_t va,
                             unsigned cmd, bool user)
{
    qpci_io_writel(p->rq, p->rq_bar, 0x00, pasid);
    qpci_io_writel(p->rq, p->rq_bar, 0x04, 1 | (user ? 2 : 0));
    qpci_io_writeq(p->rq, p->rq_bar, 0x08, va);
    qpci_io_writel(p->rq, p->rq_bar, 0x10, 8);
    qpci_io_writel(p->rq, p->rq_bar, 0x14, cmd);
    return qpci_io_readl(p->rq, p->rq_bar, 0x18);
}

static uint32_t rq_run(Pasid *p, uint64_t va, unsigned cmd, bool user)
{
    return rq_run_pasid(p, RQ_PASID, va, cmd, user);
}

/* Untagged DMA of the requester (no PASID), 8 bytes */
static uint32_t rq_run_untagged(Pasid *p, uint64_t addr, unsigned cmd)
{
    qpci_io_writel(p->rq, p->rq_bar, 0x04, 0);
    qpci_io_writeq(p->rq, p->rq_bar, 0x08, addr);
    qpci_io_writel(p->rq, p->rq_bar, 0x10, 8);
    qpci_io_writel(p->rq, p->rq_bar, 0x14, cmd);
    return qpci_io_readl(p->rq, p->rq_bar, 0x18);
}

static void rq_dte_update(Pasid *p, int q, uint64_t set)
{
    uint64_t at = p->devtab + RQ_DEVID * 32 + q * 8;

    qtest_writeq(p->x->qts, at, qtest_readq(p->x->qts, at) | set);
    qxai_submit(p->x, qxai_cmd(QXAI_CMD_INV_DEVTAB_ENTRY, RQ_DEVID), 0);
}

static void rq_inv_pages(Pasid *p, bool gn, uint32_t pasid, uint64_t addr)
{
    qxai_submit(p->x, qxai_cmd(QXAI_CMD_INV_IOMMU_PAGES,
                               (uint64_t)DOMID << 32 | pasid),
                addr | (gn ? 4 : 0));
}

/*
 * A device that writes as it resets, and resets after the IOMMU (created
 * before it: QEMU resets the newest first), is still translated: the
 * IOMMU turns off in the reset's exit phase, after every device's hold.
 */
static void test_remap_reset_order(void)
{
    QTestState *qts = qtest_init(
        "-M q35 -nodefaults -device xen-amd-iommu-v2-requester,addr=06.0 "
        "-device xen-amd-iommu-v2,id=iommu0,addr=04.0");
    QXenAmdIommuV2 *x = qxai_attach(qts, QPCI_DEVFN(4, 0), true);
    QPCIDevice *rq = qpci_device_find(x->bus, RQ_DEVFN);
    uint64_t devtab = zero_page(x), iova = zero_page(x), pa = zero_page(x);
    uint64_t root = host_map4(x, 0, iova, pa, PTE_IR | PTE_IW);
    QPCIBar bar;

    g_assert(rq);
    qpci_device_enable(rq);
    bar = qpci_iomap(rq, 0, NULL);
    qxai_setup_rings(x, LOG2_ENTRIES);
    qtest_writeq(qts, devtab + RQ_DEVID * 32,
                 root | DTE_MODE(4) | DTE_V | DTE_TV | DTE_IR | DTE_IW);
    qtest_writeq(qts, devtab + RQ_DEVID * 32 + 8, DOMID);
    qxai_writeq(x, QXAI_DEVTAB_BASE, devtab);
    qxai_control_set(x, QXAI_CTRL_IOMMU_EN | QXAI_CTRL_CMD_BUF_EN |
                     QXAI_CTRL_EVT_LOG_EN);

    qpci_io_writeq(rq, bar, 0x800, 0x5e7a5e7aULL);
    qpci_io_writeq(rq, bar, 0x08, iova);
    qpci_io_writel(rq, bar, 0x04, 8);       /* write at reset */
    qtest_system_reset(qts);
    g_assert_cmphex(qtest_readq(qts, pa), ==, 0x5e7a5e7aULL);
    g_assert_cmphex(qtest_readq(qts, iova), ==, 0);
    g_free(rq);
    qxai_stop(x);
}

/*
 * Faults of PASID requests name the PASID as Linux decodes it (2.5):
 * PASID[19:16] in bits 19:16 and PASID[15:0] in bits 47:32, for
 * IO_PAGE_FAULT, ILLEGAL_DEV_TABLE_ENTRY and INVALID_DEVICE_REQUEST.
 * The requester's PASID requests are ATS translation requests: every
 * event they cause has TR (flags bit 8).
 */
#define EVT_TR          0x100

static void expect_pasid_event(Pasid *p, uint32_t index, unsigned code,
                               uint32_t pasid, uint64_t addr, uint16_t flags)
{
    uint64_t ev[2];

    g_assert_cmpuint(ring_ptr(p->x, QXAI_EVT_TAIL), >, index);
    qxai_log_entry(p->x, p->x->evt, index, ev);
    g_assert_cmphex(ev[0] >> 60, ==, code);
    g_assert_cmphex(ev[0] & 0xffff, ==, RQ_DEVID);
    g_assert_cmphex((ev[0] >> 16) & 0xf, ==, pasid >> 16);
    g_assert_cmphex((ev[0] >> 32) & 0xffff, ==, pasid & 0xffff);
    g_assert_cmphex((ev[0] >> 48) & 0xfff, ==, flags | EVT_TR);
    g_assert_cmphex(ev[1], ==, addr);
}

/*
 * A PASID walk that fails in the host tables faults on a guest-physical
 * address: IO_PAGE_FAULT with the domain and that address, GN clear
 */
static void expect_host_stage_event(Pasid *p, uint32_t index, uint64_t gpa,
                                    uint16_t flags)
{
    uint64_t ev[2];

    g_assert_cmpuint(ring_ptr(p->x, QXAI_EVT_TAIL), >, index);
    qxai_log_entry(p->x, p->x->evt, index, ev);
    g_assert_cmphex(ev[0] >> 60, ==, 2);
    g_assert_cmphex(ev[0] & 0xffff, ==, RQ_DEVID);
    g_assert_cmphex((ev[0] >> 16) & 0xf, ==, 0);
    g_assert_cmphex((ev[0] >> 32) & 0xffff, ==, DOMID);
    g_assert_cmphex((ev[0] >> 48) & 0xfff, ==, flags | EVT_TR);
    g_assert_cmphex(ev[1], ==, gpa);
}

static void test_pasid_fault_events(void)
{
    Pasid *p = pasid_start_opts("pasid-bits=20", "");
    const uint32_t pasid = 0x12345;

    /* Without PPR a fault is an event: beyond the GCR3 table here */
    qxai_control_clear(p->x, QXAI_CTRL_PPR_EN);
    g_assert_cmpuint(rq_run_pasid(p, pasid, RQ_VA, 1, true), ==, 1);
    expect_pasid_event(p, 0, 2, pasid, RQ_VA, 0x005);     /* GN, US */
    g_assert_cmpuint(rq_run_pasid(p, pasid, RQ_VA + 0x1000, 2, false), ==, 1);
    expect_pasid_event(p, 1, 2, pasid, RQ_VA + 0x1000, 0x021); /* GN, RW */
    /*
     * The same request again is QEMU's retry of one transaction (a bounce
     * buffer translates the address twice) until the driver consumes the
     * log; then it is a fault again, and so is another PASID's.
     */
    g_assert_cmpuint(rq_run_pasid(p, pasid, RQ_VA + 0x1000, 2, false), ==, 1);
    g_assert_cmpuint(ring_ptr(p->x, QXAI_EVT_TAIL), ==, 2);
    qxai_writeq(p->x, QXAI_EVT_HEAD, qxai_readq(p->x, QXAI_EVT_TAIL));
    g_assert_cmpuint(rq_run_pasid(p, pasid, RQ_VA + 0x1000, 2, false), ==, 1);
    expect_pasid_event(p, 2, 2, pasid, RQ_VA + 0x1000, 0x021);
    g_assert_cmpuint(rq_run_pasid(p, pasid + 1, RQ_VA + 0x1000, 2, false),
                     ==, 1);
    expect_pasid_event(p, 3, 2, pasid + 1, RQ_VA + 0x1000, 0x021);

    /* A GCR3 table of more levels than offered: an illegal entry */
    rq_dte_update(p, 0, 3ULL << 56);
    g_assert_cmpuint(rq_run_pasid(p, pasid, RQ_VA + 0x2000, 1, true), ==, 1);
    expect_pasid_event(p, 4, 1, pasid, RQ_VA + 0x2000, 0x001);

    /* Guest translation off: an invalid request, US in bit 49, no RW */
    qxai_control_clear(p->x, QXAI_CTRL_GT_EN);
    g_assert_cmpuint(rq_run_pasid(p, pasid, RQ_VA + 0x3000, 2, true), ==, 1);
    expect_pasid_event(p, 5, 8, pasid, RQ_VA + 0x3000, 0x003);

    /* An entry without tables (TV=0) has no GCR3 for a PASID either */
    qxai_control_set(p->x, QXAI_CTRL_GT_EN);
    qtest_writeq(p->x->qts, p->devtab + RQ_DEVID * 32,
                 DTE_V | DTE_IR | DTE_IW);
    qxai_submit(p->x, qxai_cmd(QXAI_CMD_INV_DEVTAB_ENTRY, RQ_DEVID), 0);
    g_assert_cmpuint(rq_run_pasid(p, pasid, RQ_VA + 0x4000, 1, false), ==, 1);
    expect_pasid_event(p, 6, 8, pasid, RQ_VA + 0x4000, 0x001);

    /*
     * No entry (V=0): untagged DMA passes untranslated, but a translation
     * request is refused, not answered with its address as physical
     */
    qtest_writeq(p->x->qts, p->devtab + RQ_DEVID * 32, 0);
    qxai_submit(p->x, qxai_cmd(QXAI_CMD_INV_DEVTAB_ENTRY, RQ_DEVID), 0);
    g_assert_cmpuint(rq_run_pasid(p, pasid, RQ_VA + 0x5000, 2, false), ==, 1);
    expect_pasid_event(p, 7, 8, pasid, RQ_VA + 0x5000, 0x001);
    g_assert_cmpuint(rq_run_untagged(p, pasid_page(p), 2), ==, 0);
    g_assert_cmpuint(ring_ptr(p->x, QXAI_EVT_TAIL), ==, 8);
    pasid_stop(p);
}

/*
 * The host tables (the guest's own GPA mappings) missing what a PASID walk
 * needs: the final guest-physical page, or a guest page table. No page
 * request: the guest's PPR handler mends process tables, which are fine.
 */
static void test_pasid_host_stage_faults(void)
{
    Pasid *p = pasid_start();
    uint64_t gpa = pasid_page(p);
    uint64_t dte0 = qtest_readq(p->x->qts, p->devtab + RQ_DEVID * 32);
    uint64_t root = 0, t, late_entry;
    uint64_t ev[2];
    int level;

    guest_map(p, RQ_VA, gpa, GPTE_P | GPTE_RW | GPTE_US);
    for (level = 0; level <= 3; level++) {
        t = level == 3 ? p->cr3 : guest_table(p, RQ_VA, level);
        root = host_map4(p->x, root, t, t, PTE_IR | PTE_IW);
    }
    qtest_writeq(p->x->qts, p->devtab + RQ_DEVID * 32,
                 dte0 | DTE_MODE(4) | root);
    qxai_submit(p->x, qxai_cmd(QXAI_CMD_INV_DEVTAB_ENTRY, RQ_DEVID), 0);
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, true), ==, 1);
    expect_host_stage_event(p, 0, gpa, 0);
    g_assert_cmpuint(ring_ptr(p->x, QXAI_PPR_TAIL), ==, 0);

    /* Mapped, it works; a new guest table the host left out faults */
    host_map4(p->x, root, gpa, gpa, PTE_IR | PTE_IW);
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, true), ==, 0);
    guest_map(p, RQ_VA_LATE, gpa, GPTE_P | GPTE_RW | GPTE_US);
    late_entry = guest_table(p, RQ_VA_LATE, 0) +
                 ((RQ_VA_LATE >> 12) & 0x1ff) * 8;
    g_assert_cmpuint(rq_run(p, RQ_VA_LATE, 2, true), ==, 1);
    expect_host_stage_event(p, 1, late_entry, 0x020);       /* RW */
    g_assert_cmpuint(ring_ptr(p->x, QXAI_PPR_TAIL), ==, 0);

    /*
     * Host tables the walk cannot read: a hardware error (master abort,
     * flags bit 9) at the host entry, which is the domain's: GN clear
     */
    qtest_writeq(p->x->qts, p->devtab + RQ_DEVID * 32,
                 dte0 | DTE_MODE(4) | UNASSIGNED_PAGE);
    qxai_submit(p->x, qxai_cmd(QXAI_CMD_INV_DEVTAB_ENTRY, RQ_DEVID), 0);
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, true), ==, 1);
    g_assert_cmpuint(ring_ptr(p->x, QXAI_EVT_TAIL), ==, 3);
    qxai_log_entry(p->x, p->x->evt, 2, ev);
    g_assert_cmphex(ev[0] >> 60, ==, 4);
    g_assert_cmphex(ev[0] & 0xffff, ==, RQ_DEVID);
    g_assert_cmphex((ev[0] >> 16) & 0xf, ==, 0);
    g_assert_cmphex((ev[0] >> 32) & 0xffff, ==, DOMID);
    g_assert_cmphex((ev[0] >> 48) & 0xfff, ==, 0x200 | EVT_TR);
    g_assert_cmphex(ev[1], ==, UNASSIGNED_PAGE);
    pasid_stop(p);
}

/*
 * Two-level GCR3 tables (GLX=1 with gcr3-levels=2): PASID[17:9] picks the
 * second-level table, PASID[8:0] its entry; and a 1 GiB guest page (PS in
 * a PDPT entry)
 */
static void test_pasid_two_level_gcr3_1g(void)
{
    Pasid *p = pasid_start_opts("gcr3-levels=2", "");
    const uint32_t pasid = 9 << 9 | RQ_PASID;
    const uint64_t va = 0x0000004000000000ULL;     /* 1 GiB aligned */
    uint64_t root = pasid_page(p), l0 = pasid_page(p), data = pasid_page(p);

    qtest_writeq(p->x->qts, root + 9 * 8, l0 | 1);
    qtest_writeq(p->x->qts, l0 + RQ_PASID * 8, p->cr3 | 1);
    qtest_writeq(p->x->qts, p->devtab + RQ_DEVID * 32,
                 DTE_V | DTE_TV | DTE_IR | DTE_IW | DTE_GV | DTE_PPR |
                 1ULL << 56 | extract64(root, 12, 3) << 58);
    qtest_writeq(p->x->qts, p->devtab + RQ_DEVID * 32 + 8,
                 DOMID | extract64(root, 15, 16) << 16 |
                 extract64(root, 31, 21) << 43);
    qxai_submit(p->x, qxai_cmd(QXAI_CMD_INV_DEVTAB_ENTRY, RQ_DEVID), 0);
    /* the 1 GiB page at guest-physical 0 */
    qtest_writeq(p->x->qts,
                 guest_table(p, va, 2) + ((va >> 30) & 0x1ff) * 8,
                 GPTE_P | GPTE_RW | GPTE_US | GPTE_PS);
    qtest_writeq(p->x->qts, data + 0x10, 0x1616);
    g_assert_cmpuint(rq_run_pasid(p, pasid, va + data + 0x10, 1, true), ==,
                     0);
    g_assert_cmphex(qpci_io_readq(p->rq, p->rq_bar, 0x800), ==, 0x1616);
    /* a PASID whose second-level table is absent: a page request */
    g_assert_cmpuint(rq_run_pasid(p, 8 << 9 | RQ_PASID, va + data, 1, true),
                     ==, 2);
    pasid_stop(p);
}

/*
 * PS is reserved in a PML4 entry (as for the CPU): a fault with RZ, and
 * no page request, which could not mend it.
 */
static void test_pasid_reserved_ps(void)
{
    Pasid *p = pasid_start();
    uint64_t pml4e = p->cr3 + ((RQ_VA >> 39) & 0x1ff) * 8;
    const uint64_t va_1g = 0x00007f0040000000ULL;
    uint64_t pdpte;

    guest_map(p, RQ_VA, pasid_page(p), GPTE_P | GPTE_RW | GPTE_US);
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, true), ==, 0);
    qtest_writeq(p->x->qts, pml4e,
                 qtest_readq(p->x->qts, pml4e) | GPTE_PS);
    rq_inv_pages(p, true, RQ_PASID, RQ_VA);
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, true), ==, 1);
    expect_pasid_event(p, 0, 2, RQ_PASID, RQ_VA, 0x095);   /* GN US PR RZ */
    g_assert_cmpuint(ring_ptr(p->x, QXAI_PPR_TAIL), ==, 0);
    qtest_writeq(p->x->qts, pml4e,
                 qtest_readq(p->x->qts, pml4e) & ~GPTE_PS);
    pdpte = guest_table(p, va_1g, 2) + ((va_1g >> 30) & 0x1ff) * 8;

    /*
     * A 2 MiB page whose address has bits 20:13 set (reserved, as for
     * the CPU): the same fault; with only PAT (bit 12) it maps
     */
    guest_map_2m(p, RQ_VA_LATE, 0x200000, GPTE_P | GPTE_RW | GPTE_US |
                 1ULL << 13);
    g_assert_cmpuint(rq_run(p, RQ_VA_LATE, 1, true), ==, 1);
    expect_pasid_event(p, 1, 2, RQ_PASID, RQ_VA_LATE, 0x095);
    g_assert_cmpuint(ring_ptr(p->x, QXAI_PPR_TAIL), ==, 0);
    guest_map_2m(p, RQ_VA_LATE, 0x200000, GPTE_P | GPTE_RW | GPTE_US |
                 1ULL << 20);
    /* (the driver consumed the event: the same fault is a new one) */
    qxai_writeq(p->x, QXAI_EVT_HEAD, qxai_readq(p->x, QXAI_EVT_TAIL));
    g_assert_cmpuint(rq_run(p, RQ_VA_LATE, 1, true), ==, 1);
    expect_pasid_event(p, 2, 2, RQ_PASID, RQ_VA_LATE, 0x095);
    guest_map_2m(p, RQ_VA_LATE, 0x200000, GPTE_P | GPTE_RW | GPTE_US |
                 1ULL << 12);
    rq_inv_pages(p, true, RQ_PASID, RQ_VA_LATE);
    g_assert_cmpuint(rq_run(p, RQ_VA_LATE, 1, true), ==, 0);

    /* 1 GiB pages: bits 29:13 reserved (21 and 29 tried), PAT allowed */
    qtest_writeq(p->x->qts, pdpte, GPTE_P | GPTE_RW | GPTE_US | GPTE_PS |
                 1ULL << 21);
    g_assert_cmpuint(rq_run(p, va_1g, 1, true), ==, 1);
    expect_pasid_event(p, 3, 2, RQ_PASID, va_1g, 0x095);
    qtest_writeq(p->x->qts, pdpte, GPTE_P | GPTE_RW | GPTE_US | GPTE_PS |
                 1ULL << 29);
    g_assert_cmpuint(rq_run(p, va_1g + 0x1000, 1, true), ==, 1);
    expect_pasid_event(p, 4, 2, RQ_PASID, va_1g + 0x1000, 0x095);
    qtest_writeq(p->x->qts, pdpte, GPTE_P | GPTE_RW | GPTE_US | GPTE_PS |
                 1ULL << 12);
    g_assert_cmpuint(rq_run(p, va_1g + 0x2000, 1, true), ==, 0);
    g_assert_cmpuint(ring_ptr(p->x, QXAI_PPR_TAIL), ==, 0);
    pasid_stop(p);
}

/*
 * A guest CR3 (its GCR3 table entry) naming no memory: the walk's read
 * is a hardware error at the guest table's entry, with the PASID (GN);
 * no page request mends it
 */
static void test_pasid_guest_table_hw_error(void)
{
    Pasid *p = pasid_start();

    qtest_writeq(p->x->qts, p->gcr3_table + RQ_PASID * 8,
                 UNASSIGNED_PAGE | 1);
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, true), ==, 1);
    expect_pasid_event(p, 0, 4, RQ_PASID,
                       UNASSIGNED_PAGE + ((RQ_VA >> 39) & 0x1ff) * 8,
                       0x201);                  /* master abort, GN */
    g_assert_cmpuint(ring_ptr(p->x, QXAI_PPR_TAIL), ==, 0);
    pasid_stop(p);
}

/* Answer the requester's outstanding page request with a failure */
static void rq_fail_page_request(Pasid *p)
{
    uint32_t tag = qpci_io_readl(p->rq, p->rq_bar, 0x20);

    qxai_submit(p->x, qxai_cmd(QXAI_CMD_COMPLETE_PPR,
                               (uint64_t)RQ_PASID << 32 | RQ_DEVID),
                4 | (uint64_t)tag << 32 | 1ULL << 44);
    g_assert_cmpuint(qpci_io_readl(p->rq, p->rq_bar, 0x18), ==, 4);
}

/*
 * Enhanced PPR handling: once the driver sets EPHEn, a device table
 * entry's PPR bit opts its device in to page requests; a driver that
 * knows nothing of it leaves both clear and still gets them.
 */
static void test_pasid_eph(void)
{
    Pasid *p = pasid_start();
    uint64_t at = p->devtab + RQ_DEVID * 32;

    qtest_writeq(p->x->qts, at, qtest_readq(p->x->qts, at) & ~DTE_PPR);
    qxai_submit(p->x, qxai_cmd(QXAI_CMD_INV_DEVTAB_ENTRY, RQ_DEVID), 0);
    qxai_control_set(p->x, QXAI_CTRL_EPH_EN);
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, true), ==, 1);
    expect_pasid_event(p, 0, 2, RQ_PASID, RQ_VA, 0x005);   /* GN US */
    g_assert_cmpuint(ring_ptr(p->x, QXAI_PPR_TAIL), ==, 0);
    /* the entry opts in */
    rq_dte_update(p, 0, DTE_PPR);
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, true), ==, 2);
    g_assert_cmpuint(ring_ptr(p->x, QXAI_PPR_TAIL), ==, 1);
    rq_fail_page_request(p);
    /* EPHEn clear: page requests with the bit clear, and set */
    qxai_control_clear(p->x, QXAI_CTRL_EPH_EN);
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, true), ==, 2);
    g_assert_cmpuint(ring_ptr(p->x, QXAI_PPR_TAIL), ==, 2);
    rq_fail_page_request(p);
    qtest_writeq(p->x->qts, at, qtest_readq(p->x->qts, at) & ~DTE_PPR);
    qxai_submit(p->x, qxai_cmd(QXAI_CMD_INV_DEVTAB_ENTRY, RQ_DEVID), 0);
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, true), ==, 2);
    g_assert_cmpuint(ring_ptr(p->x, QXAI_PPR_TAIL), ==, 3);
    g_assert_cmpuint(ring_ptr(p->x, QXAI_EVT_TAIL), ==, 1);
    pasid_stop(p);
}

/*
 * Guest I/O protection: untagged DMA translated by PASID 0's tables is
 * flushed by the invalidation of PASID 0's pages (GN=1), which Linux
 * sends for its v2 DMA tables.
 */
static void test_pasid_giov_invalidation(void)
{
    Pasid *p = pasid_start();
    uint64_t a = pasid_page(p), b = pasid_page(p), cr3_0 = pasid_page(p);

    qtest_writeq(p->x->qts, p->gcr3_table, cr3_0 | 1);
    p->cr3 = cr3_0;
    guest_map(p, 0x5000, a, GPTE_P | GPTE_RW);
    rq_dte_update(p, 0, 1ULL << 54);
    qtest_writeq(p->x->qts, a + 0x28, 0xaaaa);
    qtest_writeq(p->x->qts, b + 0x28, 0xbbbb);
    g_assert_cmpuint(rq_run_untagged(p, 0x5028, 1), ==, 0);
    g_assert_cmphex(qpci_io_readq(p->rq, p->rq_bar, 0x800), ==, 0xaaaa);

    /* Another PASID's invalidation leaves it; PASID 0's drops it */
    guest_map(p, 0x5000, b, GPTE_P | GPTE_RW);
    rq_inv_pages(p, true, RQ_PASID, 0x5000);
    g_assert_cmpuint(rq_run_untagged(p, 0x5028, 1), ==, 0);
    g_assert_cmphex(qpci_io_readq(p->rq, p->rq_bar, 0x800), ==, 0xaaaa);
    rq_inv_pages(p, true, 0, 0x5000);
    g_assert_cmpuint(rq_run_untagged(p, 0x5028, 1), ==, 0);
    g_assert_cmphex(qpci_io_readq(p->rq, p->rq_bar, 0x800), ==, 0xbbbb);

    /*
     * Untagged addresses are not sign-extended: bit 47 addresses the
     * upper half of PASID 0's tables. A PASID's must be canonical.
     */
    guest_map(p, 0x800000005000ULL, a, GPTE_P | GPTE_RW | GPTE_US);
    g_assert_cmpuint(rq_run_untagged(p, 0x800000005028ULL, 1), ==, 0);
    g_assert_cmphex(qpci_io_readq(p->rq, p->rq_bar, 0x800), ==, 0xaaaa);
    g_assert_cmpuint(rq_run_pasid(p, 0, 0x800000005028ULL, 1, true), ==, 2);
    g_assert_cmpuint(rq_run_untagged(p, 0x1000000005028ULL, 1), ==, 1);
    pasid_stop(p);
}

/*
 * Nested translation: when the host tables change, the invalidation of
 * the domain's guest-physical pages (GN=0) also drops the PASID
 * translations built through them.
 */
static void test_pasid_host_invalidation(void)
{
    Pasid *p = pasid_start();
    uint64_t gpa = pasid_page(p), other = pasid_page(p);
    uint64_t dte0 = qtest_readq(p->x->qts, p->devtab + RQ_DEVID * 32);
    uint64_t root = 0, t;
    int level;

    guest_map(p, RQ_VA, gpa, GPTE_P | GPTE_RW | GPTE_US);
    for (level = 0; level <= 3; level++) {
        t = level == 3 ? p->cr3 : guest_table(p, RQ_VA, level);
        root = host_map4(p->x, root, t, t, PTE_IR | PTE_IW);
    }
    host_map4(p->x, root, gpa, gpa, PTE_IR | PTE_IW);
    qtest_writeq(p->x->qts, p->devtab + RQ_DEVID * 32,
                 dte0 | DTE_MODE(4) | root);
    qxai_submit(p->x, qxai_cmd(QXAI_CMD_INV_DEVTAB_ENTRY, RQ_DEVID), 0);
    qtest_writeq(p->x->qts, gpa, 0x1111);
    qtest_writeq(p->x->qts, other, 0x2222);
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, true), ==, 0);
    g_assert_cmphex(qpci_io_readq(p->rq, p->rq_bar, 0x800), ==, 0x1111);

    /* The host now maps the guest's page elsewhere: cached until ... */
    host_map4(p->x, root, gpa, other, PTE_IR | PTE_IW);
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, true), ==, 0);
    g_assert_cmphex(qpci_io_readq(p->rq, p->rq_bar, 0x800), ==, 0x1111);
    /* ... the guest-physical page's invalidation (GN=0) */
    rq_inv_pages(p, false, 0, gpa);
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, true), ==, 0);
    g_assert_cmphex(qpci_io_readq(p->rq, p->rq_bar, 0x800), ==, 0x2222);
    pasid_stop(p);
}

/*
 * guest-levels=5 offers 5-level guest tables (EFR.GATS); an entry asks
 * for them with GPM (DTE bits 183:182), and addresses must be canonical
 * for the mode its entry chose.
 */
#define RQ_VA5          0x00ab000000003000ULL   /* needs 5 levels */

static void test_pasid_five_level(void)
{
    Pasid *p = pasid_start_opts("guest-levels=5", "");
    uint64_t data = pasid_page(p);

    g_assert_cmphex((qxai_readq(p->x, QXAI_EFR) >> 12) & 3, ==, 1);
    p->levels = 5;
    guest_map(p, RQ_VA5, data, GPTE_P | GPTE_RW | GPTE_US);
    rq_dte_update(p, 2, 1ULL << 54);
    qtest_writeq(p->x->qts, data + 0x10, 0x55555);
    g_assert_cmpuint(rq_run(p, RQ_VA5 + 0x10, 1, true), ==, 0);
    g_assert_cmphex(qpci_io_readq(p->rq, p->rq_bar, 0x800), ==, 0x55555);
    /*
     * Bit 57 set, bit 56 clear: not canonical with 5 levels, though the
     * walk's indexes (bits 56:12) are RQ_VA5's: no aliasing
     */
    g_assert_cmpuint(rq_run(p, RQ_VA5 | 1ULL << 57, 1, true), ==, 2);
    pasid_stop(p);

    /* With 4 levels offered, GPM=01b is an illegal entry */
    p = pasid_start();
    rq_dte_update(p, 2, 1ULL << 54);
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, true), ==, 1);
    expect_pasid_event(p, 0, 1, RQ_PASID, RQ_VA, 0x001);
    /* and with 4 levels, bit 48 without bit 47: RQ_VA's indexes, a fault */
    qtest_writeq(p->x->qts, p->devtab + RQ_DEVID * 32 + 16, 0);
    qxai_submit(p->x, qxai_cmd(QXAI_CMD_INV_DEVTAB_ENTRY, RQ_DEVID), 0);
    guest_map(p, RQ_VA, pasid_page(p), GPTE_P | GPTE_RW | GPTE_US);
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, true), ==, 0);
    g_assert_cmpuint(rq_run(p, RQ_VA | 1ULL << 48, 1, true), ==, 2);
    pasid_stop(p);
}

/*
 * The IOMMU sets Accessed in each guest entry it uses and Dirty in the
 * leaf for a write, as the CPU does: the kernel reclaims pages it finds
 * clean, so a device write must mark its page dirty.
 */
static void test_pasid_accessed_dirty(void)
{
    Pasid *p = pasid_start();
    uint64_t data = pasid_page(p), ro = pasid_page(p);
    uint64_t leaf = guest_table(p, RQ_VA, 0) + ((RQ_VA >> 12) & 0x1ff) * 8;
    uint64_t ro_va = RQ_VA + 0x1000;
    int level;

    guest_map(p, RQ_VA, data, GPTE_P | GPTE_RW | GPTE_US);
    guest_map(p, ro_va, ro, GPTE_P | GPTE_US);
    g_assert_cmphex(qtest_readq(p->x->qts, leaf) & 0x60, ==, 0);
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, true), ==, 0);
    for (level = 3; level > 0; level--) {
        uint64_t t = level == 3 ? p->cr3 : guest_table(p, RQ_VA, level);
        uint64_t e = qtest_readq(p->x->qts,
                                 t + ((RQ_VA >> (12 + 9 * level)) & 0x1ff) * 8);

        g_assert_cmphex(e & 0x20, ==, 0x20);
    }
    g_assert_cmphex(qtest_readq(p->x->qts, leaf) & 0x60, ==, 0x20);
    /* A write marks the leaf dirty, the rest of it intact */
    qpci_io_writeq(p->rq, p->rq_bar, 0x800, 0xd1d1);
    g_assert_cmpuint(rq_run(p, RQ_VA, 2, true), ==, 0);
    g_assert_cmphex(qtest_readq(p->x->qts, data), ==, 0xd1d1);
    g_assert_cmphex(qtest_readq(p->x->qts, leaf), ==,
                    data | GPTE_P | GPTE_RW | GPTE_US | 0x60);
    /* A write the entry does not allow leaves it clean */
    g_assert_cmpuint(rq_run(p, ro_va, 2, true), ==, 2);
    g_assert_cmphex(qtest_readq(p->x->qts, leaf + 8) & 0x40, ==, 0);

    /*
     * Host tables that let the IOMMU read the guest's tables but not
     * write them: an entry whose Accessed bit is set already is used, one
     * that needs it set is a fault
     */
    {
        uint64_t dte0 = qtest_readq(p->x->qts, p->devtab + RQ_DEVID * 32);
        uint64_t root = 0, fresh = pasid_page(p);

        guest_map(p, RQ_VA + 0x2000, fresh, GPTE_P | GPTE_RW | GPTE_US);
        for (level = 0; level <= 3; level++) {
            uint64_t t = level == 3 ? p->cr3 : guest_table(p, RQ_VA, level);

            root = host_map4(p->x, root, t, t, PTE_IR);
        }
        host_map4(p->x, root, data, data, PTE_IR | PTE_IW);
        host_map4(p->x, root, fresh, fresh, PTE_IR | PTE_IW);
        qtest_writeq(p->x->qts, p->devtab + RQ_DEVID * 32,
                     dte0 | DTE_MODE(4) | root);
        qxai_submit(p->x, qxai_cmd(QXAI_CMD_INV_DEVTAB_ENTRY, RQ_DEVID), 0);
        g_assert_cmpuint(rq_run(p, RQ_VA, 1, true), ==, 0);
        /* the IOMMU's write was refused: present, a permission fault */
        g_assert_cmpuint(rq_run(p, RQ_VA + 0x2000, 1, true), ==, 1);
        g_assert_cmphex(qtest_readq(p->x->qts, leaf + 16) & 0x20, ==, 0);
        expect_host_stage_event(p, 0, leaf + 16, 0x050);    /* PR PE */
    }
    pasid_stop(p);
}

static void test_pasid_dma(void)
{
    Pasid *p = pasid_start();
    uint64_t data = pasid_page(p);

    guest_map(p, RQ_VA, data, GPTE_P | GPTE_RW | GPTE_US);
    /* device writes through the guest's tables */
    qpci_io_writeq(p->rq, p->rq_bar, 0x800, 0x0123456789abcdefULL);
    g_assert_cmpuint(rq_run(p, RQ_VA + 0x40, 2, true), ==, 0);
    g_assert_cmphex(qtest_readq(p->x->qts, data + 0x40), ==,
                    0x0123456789abcdefULL);
    /* and reads */
    qtest_writeq(p->x->qts, data + 0x80, 0x5a5a5a5a);
    g_assert_cmpuint(rq_run(p, RQ_VA + 0x80, 1, true), ==, 0);
    g_assert_cmphex(qpci_io_readq(p->rq, p->rq_bar, 0x800), ==, 0x5a5a5a5a);

    /* Bus mastering off: the device sends nothing, PASID or not */
    qpci_config_writew(p->rq, PCI_COMMAND,
                       qpci_config_readw(p->rq, PCI_COMMAND) &
                       ~PCI_COMMAND_MASTER);
    qpci_io_writeq(p->rq, p->rq_bar, 0x800, 0x0badULL);
    g_assert_cmpuint(rq_run(p, RQ_VA + 0x40, 2, true), ==, 1);
    g_assert_cmphex(qtest_readq(p->x->qts, data + 0x40), ==,
                    0x0123456789abcdefULL);
    qpci_device_enable(p->rq);

    /* Read-only guest page: a write is a page fault, so a page request */
    guest_map(p, RQ_VA, data, GPTE_P | GPTE_US);
    qxai_submit(p->x, qxai_cmd(QXAI_CMD_INV_IOMMU_PAGES, (uint64_t)DOMID << 32
                               | RQ_PASID), RQ_VA | 4);
    g_assert_cmpuint(rq_run(p, RQ_VA, 2, true), ==, 2);
    g_assert_cmpuint(ring_ptr(p->x, QXAI_PPR_TAIL), ==, 1);

    /* Supervisor page, user request: refused as well */
    guest_map(p, RQ_VA, data, GPTE_P | GPTE_RW);
    qxai_submit(p->x, qxai_cmd(QXAI_CMD_INV_IOMMU_PAGES, (uint64_t)DOMID << 32
                               | RQ_PASID), RQ_VA | 4);
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, true), ==, 2);
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, false), ==, 0);

    /* Guest I/O protection: untagged DMA walks PASID 0's tables */
    {
        uint64_t cr3_0 = pasid_page(p), saved = p->cr3;
        uint64_t dte0 = qtest_readq(p->x->qts, p->devtab + RQ_DEVID * 32);

        qtest_writeq(p->x->qts, p->gcr3_table, cr3_0 | 1);
        p->cr3 = cr3_0;
        guest_map(p, 0x5000, data, GPTE_P | GPTE_RW | GPTE_US);
        p->cr3 = saved;
        qtest_writeq(p->x->qts, p->devtab + RQ_DEVID * 32,
                     dte0 | 1ULL << 54);
        qxai_submit(p->x, qxai_cmd(QXAI_CMD_INV_DEVTAB_ENTRY, RQ_DEVID), 0);
        qtest_writeq(p->x->qts, data + 0x28, 0x610);
        qpci_io_writel(p->rq, p->rq_bar, 0x04, 0);
        qpci_io_writeq(p->rq, p->rq_bar, 0x08, 0x5028);
        qpci_io_writel(p->rq, p->rq_bar, 0x10, 8);
        qpci_io_writel(p->rq, p->rq_bar, 0x14, 1);
        g_assert_cmpuint(qpci_io_readl(p->rq, p->rq_bar, 0x18), ==, 0);
        g_assert_cmphex(qpci_io_readq(p->rq, p->rq_bar, 0x800), ==, 0x610);
    }
    pasid_stop(p);
}

/*
 * A cached translation allows no more than a walk would: not a user
 * request where a supervisor one was cached, not a read where the host
 * tables allow only writes.
 */
static void test_pasid_cached_permissions(void)
{
    Pasid *p = pasid_start();
    uint64_t data = pasid_page(p);
    uint64_t dte0 = qtest_readq(p->x->qts, p->devtab + RQ_DEVID * 32);
    uint64_t root = 0, t;
    int level;

    guest_map(p, RQ_VA, data, GPTE_P | GPTE_RW);
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, false), ==, 0);
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, true), ==, 2);
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, false), ==, 0);

    /* Host tables: the guest's tables read-write, its data write-only */
    guest_map(p, RQ_VA, data, GPTE_P | GPTE_RW | GPTE_US);
    for (level = 0; level <= 3; level++) {
        t = level == 3 ? p->cr3 : guest_table(p, RQ_VA, level);
        root = host_map4(p->x, root, t, t, PTE_IR | PTE_IW);
    }
    host_map4(p->x, root, data, data, PTE_IW);
    qtest_writeq(p->x->qts, p->devtab + RQ_DEVID * 32,
                 dte0 | DTE_MODE(4) | root);
    qxai_submit(p->x, qxai_cmd(QXAI_CMD_INV_DEVTAB_ENTRY, RQ_DEVID), 0);
    qxai_submit(p->x, qxai_cmd(QXAI_CMD_INV_IOMMU_PAGES, (uint64_t)DOMID << 32
                               | RQ_PASID), RQ_VA | 4);
    qpci_io_writeq(p->rq, p->rq_bar, 0x800, 0x600d);
    g_assert_cmpuint(rq_run(p, RQ_VA, 2, true), ==, 0);
    g_assert_cmphex(qtest_readq(p->x->qts, data), ==, 0x600d);
    /* the host tables' refusal: a fault on the guest-physical page */
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, true), ==, 1);
    expect_host_stage_event(p, 0, data, 0x050);             /* PR PE */
    pasid_stop(p);
}

/* The requester's buffer ends where it ends. Found by fuzzing. */
static void test_requester_buffer_bounds(void)
{
    Pasid *p = pasid_start();

    qpci_io_writel(p->rq, p->rq_bar, 0xf00, 0x5a5a);
    g_assert_cmphex(qpci_io_readl(p->rq, p->rq_bar, 0xf00), ==, 0x5a5a);
    qpci_io_writeq(p->rq, p->rq_bar, 0xff8, 0x1122334455667788ULL);
    g_assert_cmphex(qpci_io_readq(p->rq, p->rq_bar, 0xff8), ==,
                    0x1122334455667788ULL);
    qpci_io_writel(p->rq, p->rq_bar, 0xffc, 0xabcd);
    g_assert_cmphex(qpci_io_readl(p->rq, p->rq_bar, 0xffc), ==, 0xabcd);
    pasid_stop(p);
}

/*
 * A repeated command does a bounded amount of work, whatever REPEAT and
 * LENGTH say: 65536 repeats and 8 MiB at most (fuzzing found both: a
 * huge length, then an all-ones REPEAT, held the main loop for seconds).
 */
static void test_requester_repeat_bound(void)
{
    Pasid *p = pasid_start();
    const uint64_t bound = 65536, pattern = 0x0123456789abcdefULL;
    uint64_t dst = guest_alloc(&p->x->alloc, (bound + 2) * 8);

    qtest_memset(p->x->qts, dst, 0, (bound + 2) * 8);
    qpci_io_writel(p->rq, p->rq_bar, 0x04, 0);          /* no PASID */
    qpci_io_writeq(p->rq, p->rq_bar, 0x08, dst);
    qpci_io_writel(p->rq, p->rq_bar, 0x10, 8);
    qpci_io_writeq(p->rq, p->rq_bar, 0x800, pattern);
    qpci_io_writel(p->rq, p->rq_bar, 0x24, UINT32_MAX);
    qpci_io_writel(p->rq, p->rq_bar, 0x28, 8);
    qpci_io_writel(p->rq, p->rq_bar, 0x14, 2);          /* write */
    g_assert_cmpuint(qpci_io_readl(p->rq, p->rq_bar, 0x18), ==, 0);
    g_assert_cmphex(qtest_readq(p->x->qts, dst), ==, pattern);
    g_assert_cmphex(qtest_readq(p->x->qts, dst + (bound - 1) * 8), ==,
                    pattern);
    g_assert_cmphex(qtest_readq(p->x->qts, dst + bound * 8), ==, 0);

    /* and at most 8 MiB, whatever the length */
    dst = guest_alloc(&p->x->alloc, (8 << 20) + 4096);
    qpci_io_writeq(p->rq, p->rq_bar, 0x08, dst);
    qpci_io_writel(p->rq, p->rq_bar, 0x10, 2048);
    qpci_io_writel(p->rq, p->rq_bar, 0x28, 2048);
    qpci_io_writeq(p->rq, p->rq_bar, 0x800, pattern);
    qpci_io_writel(p->rq, p->rq_bar, 0x14, 2);
    g_assert_cmpuint(qpci_io_readl(p->rq, p->rq_bar, 0x18), ==, 0);
    g_assert_cmphex(qtest_readq(p->x->qts, dst + (8 << 20) - 2048), ==,
                    pattern);
    g_assert_cmphex(qtest_readq(p->x->qts, dst + (8 << 20)), ==, 0);
    pasid_stop(p);
}

/*
 * The IOTLB holds 8192 translations; the one that does not fit empties it.
 * Seen from the device: a translation the guest changed without
 * invalidating stays cached (IOTLBs do that) until 8192 others were cached
 * after it.
 */
static void test_iotlb_full(void)
{
    Pasid *p = pasid_start();
    const uint64_t va = 0x00007f4000000000ULL, two_mb = 2 << 20;
    uint64_t a = ROUND_UP(guest_alloc(&p->x->alloc, 3 * two_mb), two_mb);
    uint64_t b = a + two_mb;
    int i;

    /* 17 large pages, 8704 small ones, all onto the same 2 MiB at a */
    for (i = 0; i < 17; i++) {
        guest_map_2m(p, va + i * two_mb, a, GPTE_P | GPTE_RW | GPTE_US);
    }
    qtest_writeq(p->x->qts, a, 0xaaaa);
    qtest_writeq(p->x->qts, b, 0xbbbb);
    g_assert_cmpuint(rq_run(p, va, 1, true), ==, 0);
    g_assert_cmphex(qpci_io_readq(p->rq, p->rq_bar, 0x800), ==, 0xaaaa);

    /* Remapped without an invalidation: the cached translation stays */
    guest_map_2m(p, va, b, GPTE_P | GPTE_RW | GPTE_US);
    g_assert_cmpuint(rq_run(p, va, 1, true), ==, 0);
    g_assert_cmphex(qpci_io_readq(p->rq, p->rq_bar, 0x800), ==, 0xaaaa);

    /* 8190 more pages cached: 8191 in all, it is still there */
    qpci_io_writel(p->rq, p->rq_bar, 0x24, 8190);
    qpci_io_writel(p->rq, p->rq_bar, 0x28, 4096);
    g_assert_cmpuint(rq_run(p, va + 4096, 1, true), ==, 0);
    qpci_io_writel(p->rq, p->rq_bar, 0x24, 1);
    g_assert_cmpuint(rq_run(p, va, 1, true), ==, 0);
    g_assert_cmphex(qpci_io_readq(p->rq, p->rq_bar, 0x800), ==, 0xaaaa);

    /* Two more (8192 is full, so the next empties it): the new mapping */
    qpci_io_writel(p->rq, p->rq_bar, 0x24, 2);
    g_assert_cmpuint(rq_run(p, va + 8191 * 4096, 1, true), ==, 0);
    qpci_io_writel(p->rq, p->rq_bar, 0x24, 1);
    g_assert_cmpuint(rq_run(p, va, 1, true), ==, 0);
    g_assert_cmphex(qpci_io_readq(p->rq, p->rq_bar, 0x800), ==, 0xbbbb);
    pasid_stop(p);
}

/* The requester writes 8 bytes at a system address (untranslated DMA) */
static void rq_poke(Pasid *p, uint64_t addr, uint64_t val)
{
    qpci_io_writel(p->rq, p->rq_bar, 0x04, 0);          /* no PASID */
    qpci_io_writel(p->rq, p->rq_bar, 0x24, 1);
    qpci_io_writeq(p->rq, p->rq_bar, 0x08, addr);
    qpci_io_writel(p->rq, p->rq_bar, 0x10, 8);
    qpci_io_writeq(p->rq, p->rq_bar, 0x800, val);
    qpci_io_writel(p->rq, p->rq_bar, 0x14, 2);
    g_assert_cmpuint(qpci_io_readl(p->rq, p->rq_bar, 0x18), ==, 0);
}

/*
 * Findings F5 and F6: a DMA master behind the IOMMU (passthrough for it)
 * programs the HPET; QEMU's HPET then hung the main loop, once for a
 * periodic timer whose comparator was 2^62 ticks ahead (wrapped into the
 * past, rearmed at the same time for ever), once for one 2^60 ticks
 * behind with a period of 1 (caught up one period at a time), and (F6)
 * for a period of 2^64 - 1 (each catch-up moved the comparator one tick
 * back). Fixed in QEMU's HPET (patches/qemu/0013); time must go on, and
 * the HPET keep counting.
 */
static void test_hpet_by_dma(void)
{
    Pasid *p = pasid_start();
    const uint64_t hpet = 0xfed00000, far = 1ULL << 62;
    const uint64_t periodic = 0x4c;     /* interrupt, periodic, set value */
    uint64_t count;

    rq_poke(p, hpet + 0x100, periodic);
    rq_poke(p, hpet + 0x108, far);          /* comparator */
    rq_poke(p, hpet + 0x108, far);          /* period */
    rq_poke(p, hpet + 0x10, 1);             /* enable */
    qtest_clock_step(p->x->qts, 1000000);
    qtest_clock_step(p->x->qts, 1000000);
    count = qtest_readq(p->x->qts, hpet + 0xf0);
    g_assert_cmpuint(count, >=, 200000);    /* 2 ms at 100 MHz */

    /* 2^60: QEMU keeps the counter in nanoseconds, 2^62 ticks do not fit */
    rq_poke(p, hpet + 0x10, 0);
    rq_poke(p, hpet + 0xf0, far >> 2);      /* main counter */
    rq_poke(p, hpet + 0x100, periodic);
    rq_poke(p, hpet + 0x108, 0);
    rq_poke(p, hpet + 0x108, 1);
    rq_poke(p, hpet + 0x10, 1);
    qtest_clock_step(p->x->qts, 1000000);
    g_assert_cmpuint(qtest_readq(p->x->qts, hpet + 0xf0), >=,
                     (far >> 2) + 100000);

    /* F6: comparator 0, then a period of 2^64 - 1 */
    rq_poke(p, hpet + 0x10, 0);
    rq_poke(p, hpet + 0xf0, 0);
    rq_poke(p, hpet + 0x100, periodic);
    rq_poke(p, hpet + 0x108, 0);
    rq_poke(p, hpet + 0x108, UINT64_MAX);
    rq_poke(p, hpet + 0x10, 1);
    qtest_clock_step(p->x->qts, 1000000);
    qtest_clock_step(p->x->qts, 1000000);
    g_assert_cmpuint(qtest_readq(p->x->qts, hpet + 0xf0), >=, 200000);
    pasid_stop(p);
}

/* The requester's capabilities, as a driver reaches them */
#define RQ_ATS_CTRL         0x106
#define RQ_PASID_CTRL       0x126
#define RQ_PRI_CTRL         0x144
#define RQ_PRI_STATUS       0x146
#define PRI_CTRL_ENABLE     0x0001
#define PRI_CTRL_RESET      0x0002
#define PRI_ST_RF           0x0001
#define PRI_ST_UPRGI        0x0002
#define PRI_ST_STOPPED      0x0100

static uint16_t rq_pri_status(Pasid *p)
{
    return ecam_readw(p, RQ_DEVFN, RQ_PRI_STATUS);
}

static void rq_complete_ppr(Pasid *p, uint32_t tag, unsigned status)
{
    qxai_submit(p->x, qxai_cmd(QXAI_CMD_COMPLETE_PPR,
                               (uint64_t)RQ_PASID << 32 | RQ_DEVID),
                4 | (uint64_t)tag << 32 | (uint64_t)status << 44);
}

/*
 * The PRI status a driver reads: Stopped once disabled with nothing
 * outstanding (Linux's pci_enable_pri() insists on it), Response Failure
 * and Unexpected PRG Index as responses arrive; Reset forgets the
 * outstanding request; a reset clears what the driver enabled.
 */
static void test_requester_pri_status(void)
{
    Pasid *p = pasid_start();

    ecam_writew(p, RQ_DEVFN, RQ_PRI_CTRL, 0);
    g_assert(rq_pri_status(p) & PRI_ST_STOPPED);
    ecam_writew(p, RQ_DEVFN, RQ_PRI_CTRL, PRI_CTRL_ENABLE);

    /* disabled with a request outstanding: stopped once it is answered */
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, true), ==, 2);
    ecam_writew(p, RQ_DEVFN, RQ_PRI_CTRL, 0);
    g_assert_false(rq_pri_status(p) & PRI_ST_STOPPED);
    rq_fail_page_request(p);
    g_assert_cmphex(rq_pri_status(p) & (PRI_ST_STOPPED | PRI_ST_RF |
                                        PRI_ST_UPRGI), ==, PRI_ST_STOPPED);

    /* Reset with Enable clear: the request is forgotten; reads 0 */
    ecam_writew(p, RQ_DEVFN, RQ_PRI_CTRL, PRI_CTRL_ENABLE);
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, true), ==, 2);
    ecam_writew(p, RQ_DEVFN, RQ_PRI_CTRL, 0);
    ecam_writew(p, RQ_DEVFN, RQ_PRI_CTRL, PRI_CTRL_RESET);
    g_assert_cmphex(ecam_readw(p, RQ_DEVFN, RQ_PRI_CTRL), ==, 0);
    g_assert(rq_pri_status(p) & PRI_ST_STOPPED);
    g_assert_cmpuint(qpci_io_readl(p->rq, p->rq_bar, 0x18), ==, 1);

    /* so its late response is unexpected; the bit clears by writing 1 */
    rq_complete_ppr(p, qpci_io_readl(p->rq, p->rq_bar, 0x20), 0);
    g_assert(rq_pri_status(p) & PRI_ST_UPRGI);
    ecam_writew(p, RQ_DEVFN, RQ_PRI_STATUS, PRI_ST_UPRGI);
    g_assert_false(rq_pri_status(p) & PRI_ST_UPRGI);

    /*
     * A Response Failure: no more page requests, responses ignored,
     * until the interface is enabled again, which clears the status
     */
    ecam_writew(p, RQ_DEVFN, RQ_PRI_CTRL, PRI_CTRL_ENABLE);
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, true), ==, 2);
    rq_complete_ppr(p, qpci_io_readl(p->rq, p->rq_bar, 0x20), 0xf);
    g_assert_cmpuint(qpci_io_readl(p->rq, p->rq_bar, 0x18), ==, 4);
    g_assert_cmphex(rq_pri_status(p) & (PRI_ST_RF | PRI_ST_UPRGI), ==,
                    PRI_ST_RF);
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, true), ==, 1);
    rq_complete_ppr(p, qpci_io_readl(p->rq, p->rq_bar, 0x20), 0);
    g_assert_false(rq_pri_status(p) & PRI_ST_UPRGI);
    ecam_writew(p, RQ_DEVFN, RQ_PRI_CTRL, 0);
    ecam_writew(p, RQ_DEVFN, RQ_PRI_CTRL, PRI_CTRL_ENABLE);
    g_assert_false(rq_pri_status(p) & PRI_ST_RF);
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, true), ==, 2);
    rq_fail_page_request(p);
    /* RF is also write-1-to-clear, which does not restart the interface */
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, true), ==, 2);
    rq_complete_ppr(p, qpci_io_readl(p->rq, p->rq_bar, 0x20), 0xf);
    ecam_writew(p, RQ_DEVFN, RQ_PRI_STATUS, PRI_ST_RF);
    g_assert_false(rq_pri_status(p) & PRI_ST_RF);
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, true), ==, 1);

    /* a machine reset leaves nothing enabled, no status reported */
    ecam_writew(p, RQ_DEVFN, RQ_PRI_CTRL, 0);
    ecam_writew(p, RQ_DEVFN, RQ_PRI_CTRL, PRI_CTRL_ENABLE);
    g_assert_cmpuint(rq_run(p, RQ_VA, 1, true), ==, 2);
    rq_complete_ppr(p, qpci_io_readl(p->rq, p->rq_bar, 0x20), 0xf);
    g_assert(rq_pri_status(p) & PRI_ST_RF);
    ecam_writew(p, RQ_DEVFN, RQ_ATS_CTRL, 0x8000);
    g_assert_cmphex(ecam_readw(p, RQ_DEVFN, RQ_ATS_CTRL), ==, 0x8000);
    qtest_system_reset(p->x->qts);
    ecam_enable(p);
    g_assert_cmphex(ecam_readw(p, RQ_DEVFN, RQ_ATS_CTRL), ==, 0);
    g_assert_cmphex(ecam_readw(p, RQ_DEVFN, RQ_PASID_CTRL), ==, 0);
    g_assert_cmphex(ecam_readw(p, RQ_DEVFN, RQ_PRI_CTRL), ==, 0);
    g_assert_cmphex(rq_pri_status(p) & (PRI_ST_STOPPED | PRI_ST_RF |
                                        PRI_ST_UPRGI), ==, PRI_ST_STOPPED);
    pasid_stop(p);
}

/* repeat-max lowers the repeat bound (fuzzing sets it) */
static void test_requester_repeat_max(void)
{
    Pasid *p = pasid_start_with(",repeat-max=300");
    const uint64_t pattern = 0xfeedfacecafef00dULL;
    uint64_t dst = guest_alloc(&p->x->alloc, 302 * 8);

    qpci_io_writel(p->rq, p->rq_bar, 0x04, 0);          /* no PASID */
    qpci_io_writeq(p->rq, p->rq_bar, 0x08, dst);
    qpci_io_writel(p->rq, p->rq_bar, 0x10, 8);
    qpci_io_writeq(p->rq, p->rq_bar, 0x800, pattern);
    qpci_io_writel(p->rq, p->rq_bar, 0x24, 1000);
    qpci_io_writel(p->rq, p->rq_bar, 0x28, 8);
    qpci_io_writel(p->rq, p->rq_bar, 0x14, 2);          /* write */
    g_assert_cmpuint(qpci_io_readl(p->rq, p->rq_bar, 0x18), ==, 0);
    g_assert_cmphex(qtest_readq(p->x->qts, dst + 299 * 8), ==, pattern);
    g_assert_cmphex(qtest_readq(p->x->qts, dst + 300 * 8), ==, 0);
    /* below the bound, REPEAT is what counts */
    qpci_io_writel(p->rq, p->rq_bar, 0x24, 2);
    qpci_io_writeq(p->rq, p->rq_bar, 0x800, ~pattern);
    qpci_io_writel(p->rq, p->rq_bar, 0x14, 2);
    g_assert_cmphex(qtest_readq(p->x->qts, dst + 8), ==, ~pattern);
    g_assert_cmphex(qtest_readq(p->x->qts, dst + 16), ==, pattern);
    pasid_stop(p);
}

static void test_pasid_ppr_round_trip(void)
{
    Pasid *p = pasid_start();
    uint64_t data = pasid_page(p);
    uint64_t msi = msi_to_ram(p->x);
    uint64_t e[2];
    uint32_t tag;
    QDict *info;

    qxai_control_set(p->x, QXAI_CTRL_PPR_INT_EN);
    /* Not mapped yet: the device's read becomes a page request */
    g_assert_cmpuint(rq_run(p, RQ_VA_LATE + 0x10, 1, true), ==, 2);
    tag = qpci_io_readl(p->rq, p->rq_bar, 0x20);
    g_assert_cmpuint(ring_ptr(p->x, QXAI_PPR_TAIL), ==, 1);
    qxai_log_entry(p->x, p->x->ppr, 0, e);
    g_assert_cmphex(e[0] >> 60, ==, 1);
    g_assert_cmphex(e[0] & 0xffff, ==, RQ_DEVID);
    g_assert_cmphex((e[0] >> 16) & 0xffff, ==, RQ_PASID);
    /* the group's index, and bit 9: the group's last request */
    g_assert_cmphex((e[0] >> 32) & 0x3ff, ==, tag | 0x200);
    g_assert_cmphex((e[0] >> 48) & 0xfff, ==, 0x100 | 0x040 | 0x004);
    g_assert_cmphex(e[1], ==, RQ_VA_LATE);
    g_assert_cmphex(qtest_readl(p->x->qts, msi), ==, MSI_DATA);
    /* no IO_PAGE_FAULT for what PRI handles */
    g_assert_cmpuint(ring_ptr(p->x, QXAI_EVT_TAIL), ==, 0);

    /* Answers for another group or another device do not reach it */
    qxai_submit(p->x, qxai_cmd(QXAI_CMD_COMPLETE_PPR,
                               (uint64_t)RQ_PASID << 32 | RQ_DEVID),
                4 | (uint64_t)((tag + 1) & 0x1ff) << 32);
    qxai_submit(p->x, qxai_cmd(QXAI_CMD_COMPLETE_PPR,
                               (uint64_t)RQ_PASID << 32 | (RQ_DEVID + 1)),
                4 | (uint64_t)tag << 32);
    g_assert_cmpuint(qpci_io_readl(p->rq, p->rq_bar, 0x18), ==, 2);

    /* The guest maps the page and answers: success reaches the device */
    guest_map(p, RQ_VA_LATE, data, GPTE_P | GPTE_RW | GPTE_US);
    qtest_writeq(p->x->qts, data + 0x10, 0x600d);
    qxai_submit(p->x, qxai_cmd(QXAI_CMD_COMPLETE_PPR,
                               (uint64_t)RQ_PASID << 32 | RQ_DEVID),
                4 | (uint64_t)tag << 32);
    g_assert_cmpuint(qpci_io_readl(p->rq, p->rq_bar, 0x18), ==, 3);
    g_assert_cmpuint(rq_run(p, RQ_VA_LATE + 0x10, 1, true), ==, 0);
    g_assert_cmphex(qpci_io_readq(p->rq, p->rq_bar, 0x800), ==, 0x600d);

    /* A failure response is what the device sees too */
    g_assert_cmpuint(rq_run(p, RQ_VA_LATE + 0x3000, 1, true), ==, 2);
    tag = qpci_io_readl(p->rq, p->rq_bar, 0x20);
    qxai_submit(p->x, qxai_cmd(QXAI_CMD_COMPLETE_PPR,
                               (uint64_t)RQ_PASID << 32 | RQ_DEVID),
                4 | (uint64_t)tag << 32 | 1ULL << 44);
    g_assert_cmpuint(qpci_io_readl(p->rq, p->rq_bar, 0x18), ==, 4);
    g_assert_cmpuint(qpci_io_readl(p->rq, p->rq_bar, 0x1c), ==, 1);
    info = query_device(p->x);
    g_assert_cmpuint(dict_uint(info, "ppr-requests"), ==, 2);
    qobject_unref(info);

    /* A transfer whose second page faults asks for that page */
    guest_map(p, RQ_VA_LATE + 0x5000, data, GPTE_P | GPTE_RW | GPTE_US);
    qpci_io_writel(p->rq, p->rq_bar, 0x00, RQ_PASID);
    qpci_io_writel(p->rq, p->rq_bar, 0x04, 1 | 2);
    qpci_io_writeq(p->rq, p->rq_bar, 0x08, RQ_VA_LATE + 0x5f00);
    qpci_io_writel(p->rq, p->rq_bar, 0x10, 0x200);
    qpci_io_writel(p->rq, p->rq_bar, 0x14, 1);
    g_assert_cmpuint(qpci_io_readl(p->rq, p->rq_bar, 0x18), ==, 2);
    g_assert_cmpuint(ring_ptr(p->x, QXAI_PPR_TAIL), ==, 3);
    qxai_log_entry(p->x, p->x->ppr, 2, e);
    g_assert_cmphex(e[1], ==, RQ_VA_LATE + 0x6000);
    rq_fail_page_request(p);

    /* Guest translation off: PASID requests are invalid, not faults */
    qxai_control_clear(p->x, QXAI_CTRL_GT_EN);
    g_assert_cmpuint(rq_run(p, RQ_VA_LATE + 0x10, 1, true), ==, 1);
    qxai_log_entry(p->x, p->x->evt, 0, e);
    g_assert_cmphex(e[0] >> 60, ==, 8);
    pasid_stop(p);
}

/*
 * QMP's id is the device's (as device_del takes it), also where a
 * requester's link to the device has the same name
 */
static void test_qmp_id(void)
{
    QTestState *qts = qtest_init("-M q35 -nodefaults "
                                 "-device xen-amd-iommu-v2,id=iommu,addr=04.0 "
                                 "-device xen-amd-iommu-v2-requester,"
                                 "iommu=iommu,addr=06.0");
    QXenAmdIommuV2 *x = qxai_attach(qts, QPCI_DEVFN(4, 0), true);
    QDict *rsp;

    qxai_setup_rings(x, LOG2_ENTRIES);
    qxai_control_set(x, QXAI_CTRL_IOMMU_EN | QXAI_CTRL_PPR_LOG_EN |
                     QXAI_CTRL_PPR_EN);
    rsp = qtest_qmp(qts, "{'execute': 'xen-amd-iommu-v2-inject-ppr', "
                    "'arguments': {'id': 'iommu', 'devid': 1, "
                    "'tag': 513, 'flags': 0, 'address': 4096}}");
    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    g_assert_cmpuint(ring_ptr(x, QXAI_PPR_TAIL), ==, 1);
    qxai_stop(x);
}

/*
 * The link to the fast-path engine: what the device tells it, seen from
 * QMP, with QEMU's own engine at the other end.
 */

/* set_base, set_msi and bind_bdf calls the link has seen */
static void link_calls(QXenAmdIommuV2 *x, uint64_t out[3])
{
    QDict *info = query_device(x);
    QList *calls = qdict_get_qlist(info, "link-calls");
    QListEntry *e;
    int i = 0;

    QLIST_FOREACH_ENTRY(calls, e) {
        g_assert_cmpint(i, <, 3);
        out[i++] = qnum_get_uint(qobject_to(QNum, qlist_entry_obj(e)));
    }
    g_assert_cmpint(i, ==, 3);
    qobject_unref(info);
}

static void expect_bindings(QXenAmdIommuV2 *x, const char *const *want)
{
    QDict *info = query_device(x);
    QList *list = qdict_get_qlist(info, "bindings");
    QListEntry *e;
    int i = 0;

    QLIST_FOREACH_ENTRY(list, e) {
        QDict *b = qobject_to(QDict, qlist_entry_obj(e));
        g_autofree char *pair = g_strdup_printf("%s=%s",
                                                qdict_get_str(b, "guest"),
                                                qdict_get_str(b, "machine"));

        g_assert_nonnull(want[i]);
        g_assert_cmpstr(pair, ==, want[i]);
        i++;
    }
    g_assert_null(want[i]);
    qobject_unref(info);
}

static QDict *bind_bdf(QXenAmdIommuV2 *x, const char *guest,
                       const char *machine, bool bind)
{
    if (!machine) {
        return qtest_qmp(x->qts, "{'execute': 'xen-amd-iommu-v2-bind-bdf', "
                         "'arguments': {'guest': %s, 'bind': %i}}",
                         guest, bind);
    }
    return qtest_qmp(x->qts, "{'execute': 'xen-amd-iommu-v2-bind-bdf', "
                     "'arguments': {'guest': %s, 'machine': %s, "
                     "'bind': %i}}", guest, machine, bind);
}

static void test_link_bindings(void)
{
    QXenAmdIommuV2 *x = qxai_start("q35", "bind=00:05.0=0000:03:00.0++"
                                   "00:06.0=0001:04:00.1", NULL);
    static const char *const given[] = {
        "00:05.0=0000:03:00.0", "00:06.0=0001:04:00.1", NULL };
    static const char *const after[] = {
        "00:06.0=0001:04:00.1", "00:07.2=0000:81:00.0", NULL };
    uint64_t calls[3];
    QDict *rsp;

    expect_bindings(x, given);
    link_calls(x, calls);
    g_assert_cmpuint(calls[2], ==, 2);
    rsp = bind_bdf(x, "00:07.2", "81:00.0", true);
    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    rsp = bind_bdf(x, "00:05.0", NULL, false);
    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    expect_bindings(x, after);
    /* No double binding, no unbinding of what is not bound */
    rsp = bind_bdf(x, "00:06.0", "0000:05:00.0", true);
    g_assert(qdict_haskey(rsp, "error"));
    qobject_unref(rsp);
    rsp = bind_bdf(x, "00:05.0", NULL, false);
    g_assert(qdict_haskey(rsp, "error"));
    qobject_unref(rsp);
    /* The guest's devices are on the IOMMU's segment, 0 */
    rsp = bind_bdf(x, "0001:00:05.0", "0000:05:00.0", true);
    g_assert(qdict_haskey(rsp, "error"));
    qobject_unref(rsp);
    expect_bindings(x, after);
    link_calls(x, calls);
    g_assert_cmpuint(calls[2], ==, 4);
    qxai_stop(x);
}

static void test_link_base_and_msi(void)
{
    QXenAmdIommuV2 *x = start_running();
    uint8_t cap = qpci_find_capability(x->dev, QXAI_CAP_ID, 0);
    uint8_t msi_cap = qpci_find_capability(x->dev, PCI_CAP_ID_MSI, 0);
    uint64_t calls[3], msi;
    QDict *info, *rsp;

    /* The base the device decodes at is the base the link has */
    g_assert_cmphex(info_uint(x, "link-base"), ==, 0xfed80000);
    qpci_config_writel(x->dev, cap + 4, 0xfed80000);
    g_assert_cmphex(info_uint(x, "link-base"), ==, 0);
    qpci_config_writel(x->dev, cap + 4, 0xfeda0000);
    qpci_config_writel(x->dev, cap + 4, 0xfeda0001);
    g_assert_cmphex(info_uint(x, "link-base"), ==, 0xfeda0000);
    x->bar.addr = 0xfeda0000;
    g_assert_cmphex(qxai_readq(x, QXAI_EFR), ==, EFR_DEFAULT);

    /* MSI programming reaches the link; the engine's MSIs use it */
    link_calls(x, calls);
    msi = msi_to_ram(x);
    {
        uint64_t after[3];

        link_calls(x, after);
        g_assert_cmpuint(after[1], >, calls[1]);
    }
    info = query_device(x);
    g_assert(qdict_get_bool(info, "link-msi-enabled"));
    g_assert_cmphex(dict_uint(info, "link-msi-address"), ==, msi);
    g_assert_cmphex(dict_uint(info, "link-msi-data"), ==, MSI_DATA);
    qobject_unref(info);
    qxai_control_set(x, QXAI_CTRL_PPR_INT_EN);
    rsp = inject_ppr(x, 0x10, -1, 1, 4, 0x1000);
    qobject_unref(rsp);
    g_assert_cmphex(qtest_readl(x->qts, msi), ==, MSI_DATA);

    /* MSI off: the link knows, nothing is sent, the status still says */
    qpci_config_writew(x->dev, msi_cap + PCI_MSI_FLAGS,
                       qpci_config_readw(x->dev, msi_cap + PCI_MSI_FLAGS) &
                       ~PCI_MSI_FLAGS_ENABLE);
    g_assert_false(info_bool(x, "link-msi-enabled"));
    qtest_writel(x->qts, msi, 0);
    qxai_writeq(x, QXAI_STATUS, QXAI_ST_PPR_INT);
    rsp = inject_ppr(x, 0x10, -1, 2, 4, 0x2000);
    qobject_unref(rsp);
    g_assert_cmphex(qtest_readl(x->qts, msi), ==, 0);
    g_assert(qxai_readq(x, QXAI_STATUS) & QXAI_ST_PPR_INT);

    /*
     * A reset turns MSI off, and the link hears of it at once: under Xen
     * the hypervisor sends from the link's copy, config writes or not.
     * An interrupt the guest enables before it programs MSI sends none.
     */
    msi = msi_to_ram(x);
    g_assert(info_bool(x, "link-msi-enabled"));
    qtest_system_reset(x->qts);
    g_assert_false(qpci_config_readw(x->dev, msi_cap + PCI_MSI_FLAGS) &
                   PCI_MSI_FLAGS_ENABLE);
    g_assert_false(info_bool(x, "link-msi-enabled"));
    qtest_writel(x->qts, msi, 0);
    qpci_device_enable(x->dev);
    qxai_find_registers(x);
    qxai_setup_rings(x, LOG2_ENTRIES);
    qxai_control_set(x, QXAI_CTRL_IOMMU_EN | QXAI_CTRL_CMD_BUF_EN |
                     QXAI_CTRL_COMWAIT_INT_EN);
    qxai_submit(x, qxai_cmd(QXAI_CMD_COMPLETION_WAIT, 2), 0);
    g_assert(qxai_readq(x, QXAI_STATUS) & QXAI_ST_COMWAIT_INT);
    g_assert_cmphex(qtest_readl(x->qts, msi), ==, 0);

    /* A reset reaches the link even when the base stays where it was */
    qtest_system_reset(x->qts);
    g_assert_cmphex(info_uint(x, "link-base"), ==, 0xfed80000);
    link_calls(x, calls);
    qtest_system_reset(x->qts);
    {
        uint64_t after[3];

        link_calls(x, after);
        g_assert_cmpuint(after[0], ==, calls[0] + 1);
    }
    qxai_stop(x);
}

/* Migration mid-operation */

static void wait_migration(QTestState *src)
{
    int i;

    for (i = 0; i < 3000; i++) {
        QDict *rsp = qtest_qmp(src, "{'execute': 'query-migrate'}");
        QDict *ret = qdict_get_qdict(rsp, "return");
        const char *st = qdict_haskey(ret, "status") ?
                         qdict_get_str(ret, "status") : "none";
        bool done = !strcmp(st, "completed");

        g_assert(strcmp(st, "failed"));
        qobject_unref(rsp);
        if (done) {
            return;
        }
        g_usleep(10000);
    }
    g_assert_not_reached();
}

static void test_migration(void)
{
    g_autofree char *sock = g_strdup_printf("%s/xai-mig-%d.sock",
                                            g_get_tmp_dir(), getpid());
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    QXenAmdIommuV2 *src = start_running();
    QXenAmdIommuV2 *dst;
    QTestState *dqts;
    uint64_t sem = guest_alloc(&src->alloc, 64);
    uint64_t regs_before[8], ev[2], ppr_first[2], ppr_last[2], e[2];
    static const uint64_t regs[8] = {
        QXAI_CMD_BASE, QXAI_EVT_BASE, QXAI_CONTROL, QXAI_CMD_HEAD,
        QXAI_CMD_TAIL, QXAI_EVT_TAIL, QXAI_PPR_BASE, QXAI_PPR_TAIL,
    };
    const int half = (1 << LOG2_ENTRIES) / 2;
    QDict *rsp;
    int i;

    /* The PPR log half full */
    for (i = 0; i < half; i++) {
        rsp = inject_ppr(src, 0x10 + i, i, i, 0x4, 0x1000ULL * (i + 1));
        g_assert(qdict_haskey(rsp, "return"));
        qobject_unref(rsp);
    }
    qxai_log_entry(src, src->ppr, 0, ppr_first);
    qxai_log_entry(src, src->ppr, half - 1, ppr_last);

    /* Two events logged, commands queued behind a stopped buffer */
    qxai_submit(src, 0, 0);
    qxai_control_clear(src, QXAI_CTRL_CMD_BUF_EN);
    qxai_writeq(src, QXAI_CMD_HEAD, 1 << 4);
    qxai_control_set(src, QXAI_CTRL_CMD_BUF_EN);
    qxai_submit(src, 0, 0);
    g_assert_cmpuint(ring_ptr(src, QXAI_EVT_TAIL), ==, 2);
    qxai_control_clear(src, QXAI_CTRL_CMD_BUF_EN);
    qxai_writeq(src, QXAI_CMD_HEAD, 2 << 4);
    qtest_writeq(src->qts, sem, 0);
    qxai_queue(src, qxai_cmd(QXAI_CMD_INV_ALL, 0), 0);
    qxai_writeq(src, QXAI_CMD_TAIL, 3 << 4);
    qxai_writeq(src, QXAI_CMD_TAIL,
                (uint64_t)qxai_queue(src, qxai_cmd(QXAI_CMD_COMPLETION_WAIT,
                                                   sem | 1), 77) << 4);
    for (i = 0; i < ARRAY_SIZE(regs); i++) {
        regs_before[i] = qxai_readq(src, regs[i]);
    }

    dqts = qtest_initf("-M q35 -nodefaults -device xen-amd-iommu-v2,"
                       "id=iommu0,addr=04.0 -incoming unix:%s", sock);
    rsp = qtest_qmp(src->qts, "{'execute': 'migrate', 'arguments': "
                    "{'uri': %s}}", uri);
    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    wait_migration(src->qts);
    qtest_qmp_eventwait(dqts, "RESUME");

    dst = qxai_attach(dqts, DEVFN, false);
    dst->bar = src->bar;
    dst->cmd = src->cmd;
    dst->evt = src->evt;
    dst->ppr = src->ppr;
    dst->entries = src->entries;
    for (i = 0; i < ARRAY_SIZE(regs); i++) {
        g_assert_cmphex(qxai_readq(dst, regs[i]), ==, regs_before[i]);
    }
    g_assert_cmphex(qtest_readq(dqts, sem), ==, 0);
    /* The destination runs the queued commands, nothing lost or doubled */
    qxai_control_set(dst, QXAI_CTRL_CMD_BUF_EN);
    g_assert_cmphex(qtest_readq(dqts, sem), ==, 77);
    g_assert_cmpuint(ring_ptr(dst, QXAI_CMD_HEAD), ==, 4);
    g_assert_cmpuint(command_count(dst, QXAI_CMD_INV_ALL), ==, 1);
    g_assert_cmpuint(command_count(dst, QXAI_CMD_COMPLETION_WAIT), ==, 1);
    /* and logs its next event after the two it inherited */
    qxai_submit(dst, 0, 0);
    g_assert_cmpuint(ring_ptr(dst, QXAI_EVT_TAIL), ==, 3);
    qxai_log_entry(dst, dst->evt, 2, ev);
    g_assert_cmphex(ev[1], ==, dst->cmd + 4 * 16);
    /* The PPR log goes on after the entries it inherited, intact */
    rsp = inject_ppr(dst, 0x77, 5, 6, 0x4, 0xabc000);
    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    g_assert_cmpuint(ring_ptr(dst, QXAI_PPR_TAIL), ==, half + 1);
    qxai_log_entry(dst, dst->ppr, 0, e);
    g_assert_cmphex(e[0], ==, ppr_first[0]);
    g_assert_cmphex(e[1], ==, ppr_first[1]);
    qxai_log_entry(dst, dst->ppr, half - 1, e);
    g_assert_cmphex(e[0], ==, ppr_last[0]);
    g_assert_cmphex(e[1], ==, ppr_last[1]);
    qxai_log_entry(dst, dst->ppr, half, e);
    g_assert_cmphex(e[0] & 0xffff, ==, 0x77);
    g_assert_cmphex(e[1], ==, 0xabc000);

    unlink(sock);
    qxai_stop(dst);
    qxai_stop(src);
}

/* A destination whose device differs refuses the stream cleanly */
static void test_migration_mismatch(void)
{
    g_autofree char *sock = g_strdup_printf("%s/xai-mis-%d.sock",
                                            g_get_tmp_dir(), getpid());
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    QXenAmdIommuV2 *src = start_running();
    QTestState *dqts;
    QDict *rsp;
    int i;

    const char *st = NULL;

    /*
     * Host levels change the EFR (HATS) and no writable bit: only the
     * EFR comparison can refuse this stream (the source completes its
     * side either way; the destination's exit status says)
     */
    dqts = qtest_initf("-M q35 -nodefaults -device xen-amd-iommu-v2,"
                       "id=iommu0,addr=04.0,host-levels=4 -incoming unix:%s",
                       sock);
    rsp = qtest_qmp(src->qts, "{'execute': 'migrate', 'arguments': "
                    "{'uri': %s}}", uri);
    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    for (i = 0; i < 3000; i++) {
        bool end;

        rsp = qtest_qmp(src->qts, "{'execute': 'query-migrate'}");
        st = qdict_get_try_str(qdict_get_qdict(rsp, "return"), "status");
        end = st && (!strcmp(st, "failed") || !strcmp(st, "completed"));
        qobject_unref(rsp);
        if (end) {
            break;
        }
        g_usleep(10000);
    }
    g_assert_cmpint(i, <, 3000);
    qtest_set_expected_status(dqts, EXIT_FAILURE);
    qtest_wait_qemu(dqts);
    qtest_quit(dqts);
    /* The source still runs and its device still works */
    qxai_submit(src, qxai_cmd(QXAI_CMD_INV_ALL, 0), 0);
    g_assert_cmpuint(command_count(src, QXAI_CMD_INV_ALL), ==, 1);
    unlink(sock);
    qxai_stop(src);
}

/* A destination that loads the stream at uri once asked to, not before */
static QTestState *start_incoming(const char *uri)
{
    QTestState *qts = qtest_init("-M q35 -nodefaults -device "
                                 "xen-amd-iommu-v2,id=iommu0,addr=04.0 "
                                 "-incoming defer");
    QDict *rsp = qtest_qmp(qts, "{'execute': 'migrate-incoming', "
                           "'arguments': {'uri': %s}}", uri);

    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    return qts;
}

/*
 * Save @src's state into the file at @path (uri file:@path) and stop it;
 * the stream comes back in *stream, and the offset of the device
 * section's idstr (its first match: the stream's JSON description comes
 * at the end) in *sec.
 */
#define XAI_IDSTR "0000:00:04.0/xen-amd-iommu-v2"

static void save_stream(QXenAmdIommuV2 *src, const char *path,
                        gchar **stream, gsize *len, size_t *sec)
{
    g_autofree char *uri = g_strdup_printf("file:%s", path);
    QDict *rsp = qtest_qmp(src->qts, "{'execute': 'migrate', 'arguments': "
                           "{'uri': %s}}", uri);
    const char *at;

    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    wait_migration(src->qts);
    qxai_stop(src);
    g_assert(g_file_get_contents(path, stream, len, NULL));
    at = memmem(*stream, *len, XAI_IDSTR, strlen(XAI_IDSTR));
    g_assert(at);
    *sec = at - *stream;
}

/*
 * A stream whose device section carries a version this QEMU does not know
 * (a newer QEMU's) is refused with an error, and nothing starts.
 */
static void test_migration_unknown_version(void)
{
    g_autofree char *path = g_strdup_printf("%s/xai-ver-%d.mig",
                                            g_get_tmp_dir(), getpid());
    g_autofree char *uri = g_strdup_printf("file:%s", path);
    g_autofree gchar *stream = NULL;
    gsize len;
    size_t at;
    QTestState *dqts;

    /*
     * Section header: type, section id (4), idstr length (1), idstr,
     * instance id (4), version id (4), all big-endian.
     */
    save_stream(start_running(), path, &stream, &len, &at);
    g_assert_cmpuint(at, >, 5);
    g_assert_cmpuint((uint8_t)stream[at - 1], ==, strlen(XAI_IDSTR));
    at += strlen(XAI_IDSTR) + 4;
    g_assert_cmpuint(at + 4, <=, len);
    g_assert_cmphex(ldl_be_p(stream + at), ==, 1);
    stl_be_p(stream + at, 2);
    g_assert(g_file_set_contents(path, stream, len, NULL));

    dqts = start_incoming(uri);
    qtest_set_expected_status(dqts, EXIT_FAILURE);
    qtest_wait_qemu(dqts);
    qtest_quit(dqts);

    /* The unchanged stream loads: the refusal came from the version */
    stl_be_p(stream + at, 1);
    g_assert(g_file_set_contents(path, stream, len, NULL));
    dqts = start_incoming(uri);
    qtest_qmp_eventwait(dqts, "RESUME");
    qtest_quit(dqts);
    unlink(path);
}

/*
 * How loading the stream at uri into a device with more properties
 * @opts ("" for none) ends: "completed" or "failed"; the destination
 * goes on in *@keep if given, else quits
 */
static const char *incoming_load(const char *uri, const char *opts,
                                 QTestState **keep)
{
    QTestState *qts = qtest_initf("-M q35 -nodefaults -device "
                                  "xen-amd-iommu-v2,id=iommu0,addr=04.0%s "
                                  "-incoming defer", opts);
    const char *result = NULL;
    QDict *rsp;
    int i;

    rsp = qtest_qmp(qts, "{'execute': 'migrate-incoming', 'arguments': "
                    "{'uri': %s, 'exit-on-error': false}}", uri);
    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    for (i = 0; i < 3000 && !result; i++) {
        const char *st;

        rsp = qtest_qmp(qts, "{'execute': 'query-migrate'}");
        st = qdict_get_try_str(qdict_get_qdict(rsp, "return"), "status");
        if (st && !strcmp(st, "failed")) {
            result = "failed";
        } else if (st && !strcmp(st, "completed")) {
            result = "completed";
        }
        qobject_unref(rsp);
        g_usleep(10000);
    }
    g_assert(result);
    if (keep) {
        *keep = qts;
    } else {
        qtest_quit(qts);
    }
    return result;
}

static const char *incoming_result_with(const char *uri, const char *opts)
{
    return incoming_load(uri, opts, NULL);
}

static const char *incoming_result(const char *uri)
{
    return incoming_result_with(uri, "");
}

/* @n bytes of @want in the stream from @sec on, found exactly once */
static char *stream_find_once(gchar *stream, gsize len, size_t sec,
                              const void *want, size_t n)
{
    char *at = memmem(stream + sec, len - sec, want, n);

    g_assert(at);
    g_assert_null(memmem(at + 1, stream + len - at - 1, want, n));
    return at;
}

/* The stream as patched, written back and loaded into a device @opts */
static const char *load_patched(const char *path, const char *uri,
                                const gchar *stream, gsize len,
                                const char *opts)
{
    g_assert(g_file_set_contents(path, stream, len, NULL));
    return incoming_result_with(uri, opts);
}

/*
 * An MSI pending in the stream (an iothread raised it as the source
 * stopped) is sent once the destination runs, not while it loads: the
 * interrupt controller's state could come after the IOMMU's and drop it.
 */
static void test_migration_pending_msi(void)
{
    static const char sub[] = "xen-amd-iommu-v2-engine/irq-pending";
    g_autofree char *path = g_strdup_printf("%s/xai-irq-%d.mig",
                                            g_get_tmp_dir(), getpid());
    g_autofree char *uri = g_strdup_printf("file:%s", path);
    g_autofree gchar *stream = NULL;
    QXenAmdIommuV2 *src = start_running();
    uint64_t msi = msi_to_ram(src);
    uint8_t footer[5] = { 0x7e };
    GByteArray *patched = g_byte_array_new();
    uint8_t rec[64] = { 0x05, sizeof(sub) - 1 };
    QTestState *dqts;
    size_t at, foot;
    gsize len;
    QDict *rsp;
    int i;

    save_stream(src, path, &stream, &len, &at);
    /*
     * The section ends with a footer (7Eh, its section id): the engine's
     * registers are its last fields, so its subsection goes just before.
     */
    memcpy(footer + 1, stream + at - 5, 4);
    foot = stream_find_once(stream, len, at, footer, 5) - stream;
    memcpy(rec + 2, sub, sizeof(sub) - 1);
    stl_be_p(rec + 2 + sizeof(sub) - 1, 1);          /* version */
    rec[2 + sizeof(sub) - 1 + 4] = 1;                /* irq_pending */
    g_byte_array_append(patched, (uint8_t *)stream, foot);
    g_byte_array_append(patched, rec, 2 + sizeof(sub) - 1 + 5);
    g_byte_array_append(patched, (uint8_t *)stream + foot, len - foot);
    g_assert(g_file_set_contents(path, (gchar *)patched->data,
                                 patched->len, NULL));
    g_byte_array_unref(patched);

    dqts = qtest_init("-M q35 -nodefaults -device "
                      "xen-amd-iommu-v2,id=iommu0,addr=04.0 -S "
                      "-incoming defer");
    rsp = qtest_qmp(dqts, "{'execute': 'migrate-incoming', "
                    "'arguments': {'uri': %s}}", uri);
    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    wait_migration(dqts);
    g_assert_cmphex(qtest_readl(dqts, msi), ==, 0);
    qtest_qmp_assert_success(dqts, "{'execute': 'cont'}");
    for (i = 0; i < 500 && qtest_readl(dqts, msi) != MSI_DATA; i++) {
        g_usleep(10000);
    }
    g_assert_cmphex(qtest_readl(dqts, msi), ==, MSI_DATA);
    qtest_quit(dqts);
    unlink(path);
}

/*
 * A stream in which the command buffer runs while the guest has it
 * disabled (no QEMU writes that) is refused: loaded, the next tail write
 * would run commands from a buffer the guest turned off.
 */
static void test_migration_inconsistent_status(void)
{
    g_autofree char *path = g_strdup_printf("%s/xai-st-%d.mig",
                                            g_get_tmp_dir(), getpid());
    g_autofree char *uri = g_strdup_printf("file:%s", path);
    QXenAmdIommuV2 *src = start_running();
    uint64_t ctrl = qxai_readq(src, QXAI_CONTROL);
    g_autofree gchar *stream = NULL;
    QTestState *dqts;
    uint8_t want[8];
    char *at;
    size_t sec;
    gsize len;

    g_assert(qxai_readq(src, QXAI_STATUS) & QXAI_ST_CMD_RUN);
    save_stream(src, path, &stream, &len, &sec);

    /* As saved, it loads */
    g_assert_cmpstr(incoming_result(uri), ==, "completed");

    /* The registers go as big-endian quadwords: find CONTROL's, once */
    stq_be_p(want, ctrl);
    at = stream_find_once(stream, len, sec, want, 8);
    stq_be_p(at, ctrl & ~QXAI_CTRL_CMD_BUF_EN);
    g_assert_cmpstr(load_patched(path, uri, stream, len, ""), ==, "failed");

    /*
     * Refused, the device is left off (reset), not with the stream's
     * registers over address spaces that never followed them: "cont"
     * after a failed loadvm runs the machine as it is
     */
    g_assert(g_file_set_contents(path, stream, len, NULL));
    g_assert_cmpstr(incoming_load(uri, "", &dqts), ==, "failed");
    g_assert_cmphex(qtest_readq(dqts, 0xfed80000 + QXAI_EFR), ==,
                    EFR_DEFAULT);
    g_assert_cmphex(qtest_readq(dqts, 0xfed80000 + QXAI_CONTROL), ==, 0);
    g_assert_cmphex(qtest_readq(dqts, 0xfed80000 + QXAI_STATUS), ==, 0);
    qtest_quit(dqts);
    unlink(path);
}

/*
 * The register window's reserved bits in config space (Base Address Low
 * 13:1, High 31:20) cannot be set by a guest, nor by a stream.
 */
static void test_migration_reserved_config(void)
{
    g_autofree char *path = g_strdup_printf("%s/xai-cfg-%d.mig",
                                            g_get_tmp_dir(), getpid());
    g_autofree char *uri = g_strdup_printf("file:%s", path);
    QXenAmdIommuV2 *src = start_running();
    uint8_t cap = qpci_find_capability(src->dev, QXAI_CAP_ID, 0);
    g_autofree gchar *stream = NULL;
    uint8_t head[16];
    char *cfg;
    size_t sec;
    gsize len;
    int i;

    g_assert(cap);
    for (i = 0; i < 16; i++) {
        head[i] = qpci_config_readb(src->dev, i);
    }
    save_stream(src, path, &stream, &len, &sec);
    cfg = stream_find_once(stream, len, sec, head, 16);
    g_assert_cmpstr(incoming_result(uri), ==, "completed");

    cfg[cap + 11] |= 0x80;                  /* High, bit 31 */
    g_assert_cmpstr(load_patched(path, uri, stream, len, ""), ==, "failed");
    cfg[cap + 11] &= ~0x80;
    cfg[cap + 4] |= 0x02;                   /* Low, bit 1 */
    g_assert_cmpstr(load_patched(path, uri, stream, len, ""), ==, "failed");
    unlink(path);
}

/*
 * A guest may give a running log a reserved length (its base takes
 * writes while it runs): its next entry stops it with overflow. Migrated
 * in that state, the destination does the same, not stop it silently.
 */
static void test_migration_log_reserved_length(void)
{
    g_autofree char *path = g_strdup_printf("%s/xai-rl-%d.mig",
                                            g_get_tmp_dir(), getpid());
    g_autofree char *uri = g_strdup_printf("file:%s", path);
    QXenAmdIommuV2 *src = start_running(), *dst;
    g_autofree gchar *stream = NULL;
    QTestState *dqts;
    QDict *rsp;
    size_t sec;
    gsize len;

    qxai_writeq(src, QXAI_PPR_BASE, src->ppr | 7ULL << 56);
    g_assert(qxai_readq(src, QXAI_STATUS) & QXAI_ST_PPR_RUN);
    save_stream(src, path, &stream, &len, &sec);

    dqts = start_incoming(uri);
    qtest_qmp_eventwait(dqts, "RESUME");
    dst = qxai_attach(dqts, DEVFN, true);
    g_assert(qxai_readq(dst, QXAI_STATUS) & QXAI_ST_PPR_RUN);
    rsp = inject_ppr(dst, 0x10, -1, 1, 0x4, 0x1000);
    g_assert(qdict_haskey(rsp, "error"));
    qobject_unref(rsp);
    g_assert(qxai_readq(dst, QXAI_STATUS) & QXAI_ST_PPR_OVERFLOW);
    g_assert_false(qxai_readq(dst, QXAI_STATUS) & QXAI_ST_PPR_RUN);
    qxai_stop(dst);
    unlink(path);
}

/*
 * With ppr=off the PPR status bits do not exist (a write of ones cannot
 * clear them): a stream that sets them is refused.
 */
static void test_migration_absent_status(void)
{
    g_autofree char *path = g_strdup_printf("%s/xai-pst-%d.mig",
                                            g_get_tmp_dir(), getpid());
    g_autofree char *uri = g_strdup_printf("file:%s", path);
    QXenAmdIommuV2 *src = qxai_start("q35", "ppr=off,eph=off", NULL);
    uint64_t ctrl, status;
    g_autofree gchar *stream = NULL;
    uint8_t want[8];
    char *at;
    size_t sec;
    gsize len;

    qxai_setup_rings(src, LOG2_ENTRIES);
    qxai_control_set(src, QXAI_CTRL_IOMMU_EN | QXAI_CTRL_CMD_BUF_EN |
                     QXAI_CTRL_EVT_LOG_EN);
    ctrl = qxai_readq(src, QXAI_CONTROL);
    status = qxai_readq(src, QXAI_STATUS);
    save_stream(src, path, &stream, &len, &sec);
    g_assert_cmpstr(incoming_result_with(uri, ",ppr=off,eph=off"), ==,
                    "completed");
    /* Registers go in order, big-endian: STATUS is 12 after CONTROL */
    stq_be_p(want, ctrl);
    at = stream_find_once(stream, len, sec, want, 8) + 12 * 8;
    g_assert_cmphex(ldq_be_p(at), ==, status);
    stq_be_p(at, status | QXAI_ST_PPR_INT);
    g_assert_cmpstr(load_patched(path, uri, stream, len, ",ppr=off,eph=off"),
                    ==, "failed");
    /* and a bit no feature defines */
    stq_be_p(at, status | 1ULL << 63);
    g_assert_cmpstr(load_patched(path, uri, stream, len, ",ppr=off,eph=off"),
                    ==, "failed");
    unlink(path);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/xen-amd-iommu-v2/config/q35", test_config_q35);
    qtest_add_func("/xen-amd-iommu-v2/config/pc", test_config_pc);
    qtest_add_func("/xen-amd-iommu-v2/config/two-instances",
                   test_two_instances);
    qtest_add_func("/xen-amd-iommu-v2/config/bad-properties",
                   test_bad_properties);
    qtest_add_func("/xen-amd-iommu-v2/config/window-placement",
                   test_window_placement);
    qtest_add_func("/xen-amd-iommu-v2/config/ivrs-ranges", test_ivrs_ranges);
    qtest_add_func("/xen-amd-iommu-v2/config/address-sizes",
                   test_address_sizes);
    qtest_add_func("/xen-amd-iommu-v2/base-address", test_base_address);
    qtest_add_func("/xen-amd-iommu-v2/regs/reset", test_reset_values);
    qtest_add_func("/xen-amd-iommu-v2/regs/masks", test_write_masks);
    qtest_add_func("/xen-amd-iommu-v2/regs/features-off", test_features_off);
    qtest_add_func("/xen-amd-iommu-v2/regs/efr2", test_efr2);
    qtest_add_func("/xen-amd-iommu-v2/regs/status-w1c", test_status_w1c);
    qtest_add_func("/xen-amd-iommu-v2/cmd/completion-wait",
                   test_completion_wait);
    qtest_add_func("/xen-amd-iommu-v2/cmd/every-command", test_every_command);
    qtest_add_func("/xen-amd-iommu-v2/cmd/ring-across-ram-blocks",
                   test_ring_across_ram_blocks);
    qtest_add_func("/xen-amd-iommu-v2/cmd/ring-beyond-ram",
                   test_ring_beyond_ram);
    qtest_add_func("/xen-amd-iommu-v2/cmd/complete-ppr", test_complete_ppr);
    qtest_add_func("/xen-amd-iommu-v2/cmd/illegal", test_illegal_commands);
    qtest_add_func("/xen-amd-iommu-v2/cmd/one-ring-per-doorbell",
                   test_one_ring_per_doorbell);
    qtest_add_func("/xen-amd-iommu-v2/log/event-wrap-overflow",
                   test_event_log_wrap_overflow);
    qtest_add_func("/xen-amd-iommu-v2/log/ppr", test_ppr_log);
    qtest_add_func("/xen-amd-iommu-v2/log/ppr-pasid-width",
                   test_ppr_pasid_width);
    qtest_add_func("/xen-amd-iommu-v2/log/reprogram-while-running",
                   test_log_reprogram_while_running);
    qtest_add_func("/xen-amd-iommu-v2/hostile/ring-lengths",
                   test_hostile_ring_lengths);
    qtest_add_func("/xen-amd-iommu-v2/hostile/pointers",
                   test_hostile_pointers);
    qtest_add_func("/xen-amd-iommu-v2/hostile/dma-targets",
                   test_hostile_dma_targets);
    qtest_add_func("/xen-amd-iommu-v2/hostile/base-overflow",
                   test_hostile_base_overflow);
    qtest_add_func("/xen-amd-iommu-v2/hostile/msi-at-registers",
                   test_hostile_msi_at_registers);
    qtest_add_func("/xen-amd-iommu-v2/hostile/all-registers",
                   test_hostile_all_registers);
    qtest_add_func("/xen-amd-iommu-v2/remap/passthrough",
                   test_remap_passthrough);
    qtest_add_func("/xen-amd-iommu-v2/remap/devid-beyond-table",
                   test_remap_devid_beyond_table);
    qtest_add_func("/xen-amd-iommu-v2/remap/4-level", test_remap_4level);
    qtest_add_func("/xen-amd-iommu-v2/remap/exclusion", test_remap_exclusion);
    qtest_add_func("/xen-amd-iommu-v2/remap/large-and-skip",
                   test_remap_large_and_skip);
    qtest_add_func("/xen-amd-iommu-v2/remap/hostile-tables",
                   test_remap_hostile_tables);
    qtest_add_func("/xen-amd-iommu-v2/remap/invalidation",
                   test_remap_invalidation);
    qtest_add_func("/xen-amd-iommu-v2/remap/prefetch-inval",
                   test_remap_prefetch_inval);
    qtest_add_func("/xen-amd-iommu-v2/remap/reset-order",
                   test_remap_reset_order);
    qtest_add_func("/xen-amd-iommu-v2/remap/bridge-power-off",
                   test_remap_bridge_power_off);
    qtest_add_func("/xen-amd-iommu-v2/pasid/dma", test_pasid_dma);
    qtest_add_func("/xen-amd-iommu-v2/pasid/fault-events",
                   test_pasid_fault_events);
    qtest_add_func("/xen-amd-iommu-v2/pasid/host-stage-faults",
                   test_pasid_host_stage_faults);
    qtest_add_func("/xen-amd-iommu-v2/pasid/two-level-gcr3-1g",
                   test_pasid_two_level_gcr3_1g);
    qtest_add_func("/xen-amd-iommu-v2/pasid/reserved-ps",
                   test_pasid_reserved_ps);
    qtest_add_func("/xen-amd-iommu-v2/pasid/eph", test_pasid_eph);
    qtest_add_func("/xen-amd-iommu-v2/pasid/guest-table-hw-error",
                   test_pasid_guest_table_hw_error);
    qtest_add_func("/xen-amd-iommu-v2/pasid/giov-invalidation",
                   test_pasid_giov_invalidation);
    qtest_add_func("/xen-amd-iommu-v2/pasid/host-invalidation",
                   test_pasid_host_invalidation);
    qtest_add_func("/xen-amd-iommu-v2/pasid/five-level",
                   test_pasid_five_level);
    qtest_add_func("/xen-amd-iommu-v2/pasid/accessed-dirty",
                   test_pasid_accessed_dirty);
    qtest_add_func("/xen-amd-iommu-v2/pasid/requester-buffer",
                   test_requester_buffer_bounds);
    qtest_add_func("/xen-amd-iommu-v2/pasid/requester-repeat-bound",
                   test_requester_repeat_bound);
    qtest_add_func("/xen-amd-iommu-v2/pasid/requester-pri-status",
                   test_requester_pri_status);
    qtest_add_func("/xen-amd-iommu-v2/pasid/requester-repeat-max",
                   test_requester_repeat_max);
    qtest_add_func("/xen-amd-iommu-v2/pasid/iotlb-full", test_iotlb_full);
    qtest_add_func("/xen-amd-iommu-v2/pasid/cached-permissions",
                   test_pasid_cached_permissions);
    qtest_add_func("/xen-amd-iommu-v2/fuzz/hpet-by-dma", test_hpet_by_dma);
    qtest_add_func("/xen-amd-iommu-v2/pasid/ppr-round-trip",
                   test_pasid_ppr_round_trip);
    qtest_add_func("/xen-amd-iommu-v2/qmp/id", test_qmp_id);
    qtest_add_func("/xen-amd-iommu-v2/link/bindings", test_link_bindings);
    qtest_add_func("/xen-amd-iommu-v2/link/base-and-msi",
                   test_link_base_and_msi);
    qtest_add_func("/xen-amd-iommu-v2/migration/mid-operation",
                   test_migration);
    qtest_add_func("/xen-amd-iommu-v2/migration/mismatch",
                   test_migration_mismatch);
    qtest_add_func("/xen-amd-iommu-v2/migration/inconsistent-status",
                   test_migration_inconsistent_status);
    qtest_add_func("/xen-amd-iommu-v2/migration/reserved-config",
                   test_migration_reserved_config);
    qtest_add_func("/xen-amd-iommu-v2/migration/absent-status",
                   test_migration_absent_status);
    qtest_add_func("/xen-amd-iommu-v2/migration/log-reserved-length",
                   test_migration_log_reserved_length);
    qtest_add_func("/xen-amd-iommu-v2/migration/pending-msi",
                   test_migration_pending_msi);
    qtest_add_func("/xen-amd-iommu-v2/migration/unknown-version",
                   test_migration_unknown_version);
    return g_test_run();
}
