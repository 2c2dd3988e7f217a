/*
 * libqos driver for xen-amd-iommu-v2
 *
 * A small guest driver, written from the AMD IOMMU specification
 * independently of the device's own headers, so tests check the device
 * against the specification rather than against itself.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef QTEST_LIBQOS_XEN_AMD_IOMMU_V2_H
#define QTEST_LIBQOS_XEN_AMD_IOMMU_V2_H

#include "pci.h"
#include "libqos-malloc.h"

/* MMIO registers (spec 3.4) */
#define QXAI_DEVTAB_BASE    0x0000
#define QXAI_CMD_BASE       0x0008
#define QXAI_EVT_BASE       0x0010
#define QXAI_CONTROL        0x0018
#define QXAI_EXCL_BASE      0x0020
#define QXAI_EXCL_LIMIT     0x0028
#define QXAI_EFR            0x0030
#define QXAI_PPR_BASE       0x0038
#define QXAI_HW_EVT_HI      0x0040
#define QXAI_HW_EVT_LO      0x0048
#define QXAI_HW_EVT_STATUS  0x0050
#define QXAI_EFR2           0x01a0
#define QXAI_CMD_HEAD       0x2000
#define QXAI_CMD_TAIL       0x2008
#define QXAI_EVT_HEAD       0x2010
#define QXAI_EVT_TAIL       0x2018
#define QXAI_STATUS         0x2020
#define QXAI_PPR_HEAD       0x2030
#define QXAI_PPR_TAIL       0x2038

/* Control bits */
#define QXAI_CTRL_IOMMU_EN      (1ULL << 0)
#define QXAI_CTRL_EVT_LOG_EN    (1ULL << 2)
#define QXAI_CTRL_EVT_INT_EN    (1ULL << 3)
#define QXAI_CTRL_COMWAIT_INT_EN (1ULL << 4)
#define QXAI_CTRL_CMD_BUF_EN    (1ULL << 12)
#define QXAI_CTRL_PPR_LOG_EN    (1ULL << 13)
#define QXAI_CTRL_PPR_INT_EN    (1ULL << 14)
#define QXAI_CTRL_PPR_EN        (1ULL << 15)
#define QXAI_CTRL_GT_EN         (1ULL << 16)
#define QXAI_CTRL_EPH_EN        (1ULL << 45)

/* Status bits */
#define QXAI_ST_EVT_OVERFLOW    (1ULL << 0)
#define QXAI_ST_EVT_INT         (1ULL << 1)
#define QXAI_ST_COMWAIT_INT     (1ULL << 2)
#define QXAI_ST_EVT_RUN         (1ULL << 3)
#define QXAI_ST_CMD_RUN         (1ULL << 4)
#define QXAI_ST_PPR_OVERFLOW    (1ULL << 5)
#define QXAI_ST_PPR_INT         (1ULL << 6)
#define QXAI_ST_PPR_RUN         (1ULL << 7)

/* Command opcodes (spec 2.4) */
#define QXAI_CMD_COMPLETION_WAIT    1
#define QXAI_CMD_INV_DEVTAB_ENTRY   2
#define QXAI_CMD_INV_IOMMU_PAGES    3
#define QXAI_CMD_INV_IOTLB_PAGES    4
#define QXAI_CMD_INV_INT_TABLE      5
#define QXAI_CMD_PREFETCH_PAGES     6
#define QXAI_CMD_COMPLETE_PPR       7
#define QXAI_CMD_INV_ALL            8

#define QXAI_EVT_ILLEGAL_COMMAND    5
#define QXAI_EVT_COMMAND_HW_ERROR   6

/* PCI capability (spec 3.2.1) */
#define QXAI_CAP_ID         0x0f

typedef struct QXenAmdIommuV2 {
    QTestState *qts;
    QPCIBus *bus;
    QPCIDevice *dev;
    QPCIBar bar;            /* the register window, from the capability */
    QGuestAllocator alloc;
    /* rings set up by qxai_setup_rings() */
    uint64_t cmd, evt, ppr;
    uint32_t entries;
} QXenAmdIommuV2;

/* Start QEMU with one device at 00:04.0 and find its registers. */
QXenAmdIommuV2 *qxai_start(const char *machine, const char *dev_opts,
                           const char *extra);
/* Attach to an already running QEMU with the device at devfn. */
QXenAmdIommuV2 *qxai_attach(QTestState *qts, int devfn, bool map_bar);
void qxai_stop(QXenAmdIommuV2 *x);
/* Register base from the capability; point x->bar at it */
uint64_t qxai_base(QPCIDevice *dev);
void qxai_find_registers(QXenAmdIommuV2 *x);

uint64_t qxai_readq(QXenAmdIommuV2 *x, uint64_t reg);
void qxai_writeq(QXenAmdIommuV2 *x, uint64_t reg, uint64_t val);
uint32_t qxai_readl(QXenAmdIommuV2 *x, uint64_t reg);
void qxai_writel(QXenAmdIommuV2 *x, uint64_t reg, uint32_t val);

/* Allocate command buffer, event log and PPR log of 2^log2 entries each. */
void qxai_setup_rings(QXenAmdIommuV2 *x, unsigned log2);
void qxai_control_set(QXenAmdIommuV2 *x, uint64_t bits);
void qxai_control_clear(QXenAmdIommuV2 *x, uint64_t bits);
void qxai_control_restart(QXenAmdIommuV2 *x, uint64_t bits);

/* Write one command at the tail and ring the doorbell. */
void qxai_submit(QXenAmdIommuV2 *x, uint64_t q0, uint64_t q1);
/* Queue one command without ringing the doorbell; returns the new tail. */
uint32_t qxai_queue(QXenAmdIommuV2 *x, uint64_t q0, uint64_t q1);

/* Read log entry i of the event or PPR log. */
void qxai_log_entry(QXenAmdIommuV2 *x, uint64_t base, uint32_t i,
                    uint64_t entry[2]);

static inline uint64_t qxai_cmd(unsigned opcode, uint64_t q0)
{
    return (uint64_t)opcode << 60 | q0;
}

#endif
