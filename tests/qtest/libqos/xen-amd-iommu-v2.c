/*
 * libqos driver for xen-amd-iommu-v2
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "../libqtest.h"
#include "pci-pc.h"
#include "malloc-pc.h"
#include "xen-amd-iommu-v2.h"

/* The registers decode where the capability's base registers say. */
uint64_t qxai_base(QPCIDevice *dev)
{
    uint8_t cap = qpci_find_capability(dev, QXAI_CAP_ID, 0);

    g_assert(cap);
    return (qpci_config_readl(dev, cap + 4) & ~0x3fffULL) |
           (uint64_t)qpci_config_readl(dev, cap + 8) << 32;
}

void qxai_find_registers(QXenAmdIommuV2 *x)
{
    x->bar.addr = qxai_base(x->dev);
    x->bar.is_io = false;
}

QXenAmdIommuV2 *qxai_attach(QTestState *qts, int devfn, bool map_bar)
{
    QXenAmdIommuV2 *x = g_new0(QXenAmdIommuV2, 1);

    x->qts = qts;
    pc_alloc_init(&x->alloc, qts, ALLOC_NO_FLAGS);
    x->bus = qpci_new_pc(qts, &x->alloc);
    x->dev = qpci_device_find(x->bus, devfn);
    g_assert(x->dev);
    if (map_bar) {
        qpci_device_enable(x->dev);
        qxai_find_registers(x);
    }
    return x;
}

QXenAmdIommuV2 *qxai_start(const char *machine, const char *dev_opts,
                           const char *extra)
{
    QTestState *qts;

    qts = qtest_initf("-M %s -nodefaults -device xen-amd-iommu-v2,id=iommu0,"
                      "addr=04.0%s%s %s", machine, dev_opts ? "," : "",
                      dev_opts ? dev_opts : "", extra ? extra : "");
    return qxai_attach(qts, QPCI_DEVFN(4, 0), true);
}

void qxai_stop(QXenAmdIommuV2 *x)
{
    QTestState *qts = x->qts;

    g_free(x->dev);
    qpci_free_pc(x->bus);
    alloc_destroy(&x->alloc);
    g_free(x);
    qtest_quit(qts);
}

uint64_t qxai_readq(QXenAmdIommuV2 *x, uint64_t reg)
{
    return qpci_io_readq(x->dev, x->bar, reg);
}

void qxai_writeq(QXenAmdIommuV2 *x, uint64_t reg, uint64_t val)
{
    qpci_io_writeq(x->dev, x->bar, reg, val);
}

uint32_t qxai_readl(QXenAmdIommuV2 *x, uint64_t reg)
{
    return qpci_io_readl(x->dev, x->bar, reg);
}

void qxai_writel(QXenAmdIommuV2 *x, uint64_t reg, uint32_t val)
{
    qpci_io_writel(x->dev, x->bar, reg, val);
}

static uint64_t qxai_alloc_ring(QXenAmdIommuV2 *x, unsigned log2)
{
    size_t size = (size_t)16 << log2;
    uint64_t addr = guest_alloc(&x->alloc, size);

    g_assert_cmphex(addr & 0xfff, ==, 0);
    qtest_memset(x->qts, addr, 0, size);
    return addr;
}

void qxai_setup_rings(QXenAmdIommuV2 *x, unsigned log2)
{
    uint64_t len = (uint64_t)log2 << 56;

    x->entries = 1u << log2;
    x->cmd = qxai_alloc_ring(x, log2);
    x->evt = qxai_alloc_ring(x, log2);
    x->ppr = qxai_alloc_ring(x, log2);
    qxai_writeq(x, QXAI_CMD_BASE, x->cmd | len);
    qxai_writeq(x, QXAI_EVT_BASE, x->evt | len);
    qxai_writeq(x, QXAI_PPR_BASE, x->ppr | len);
    qxai_writeq(x, QXAI_CMD_HEAD, 0);
    qxai_writeq(x, QXAI_CMD_TAIL, 0);
    qxai_writeq(x, QXAI_EVT_HEAD, 0);
    qxai_writeq(x, QXAI_EVT_TAIL, 0);
    qxai_writeq(x, QXAI_PPR_HEAD, 0);
    qxai_writeq(x, QXAI_PPR_TAIL, 0);
}

void qxai_control_set(QXenAmdIommuV2 *x, uint64_t bits)
{
    qxai_writeq(x, QXAI_CONTROL, qxai_readq(x, QXAI_CONTROL) | bits);
}

void qxai_control_clear(QXenAmdIommuV2 *x, uint64_t bits)
{
    qxai_writeq(x, QXAI_CONTROL, qxai_readq(x, QXAI_CONTROL) & ~bits);
}

/* Enables off, then on: how a driver restarts a stopped ring */
void qxai_control_restart(QXenAmdIommuV2 *x, uint64_t bits)
{
    qxai_control_clear(x, bits);
    qxai_control_set(x, bits);
}

uint32_t qxai_queue(QXenAmdIommuV2 *x, uint64_t q0, uint64_t q1)
{
    uint32_t tail = (qxai_readq(x, QXAI_CMD_TAIL) >> 4) & (x->entries - 1);
    uint64_t slot = x->cmd + tail * 16;

    qtest_writeq(x->qts, slot, q0);
    qtest_writeq(x->qts, slot + 8, q1);
    return (tail + 1) & (x->entries - 1);
}

void qxai_submit(QXenAmdIommuV2 *x, uint64_t q0, uint64_t q1)
{
    uint32_t tail = qxai_queue(x, q0, q1);

    qxai_writeq(x, QXAI_CMD_TAIL, (uint64_t)tail << 4);
}

void qxai_log_entry(QXenAmdIommuV2 *x, uint64_t base, uint32_t i,
                    uint64_t entry[2])
{
    entry[0] = qtest_readq(x->qts, base + i * 16);
    entry[1] = qtest_readq(x->qts, base + i * 16 + 8);
}
