/*
 * xen-amd-iommu-v2: register, capability and in-memory record layouts
 *
 * Every offset, field and record here is taken from the AMD I/O
 * Virtualization Technology (IOMMU) Specification, rev 3.x (AMD #48882);
 * section numbers refer to that document.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_XEN_AMD_IOMMU_V2_BITS_H
#define HW_XEN_AMD_IOMMU_V2_BITS_H

#include "qemu/bitops.h"

#define XAI_MASK(hi, lo)            MAKE_64BIT_MASK(lo, (hi) - (lo) + 1)

/* PCI function (3.2.1) */
#define XAI_PCI_VENDOR_AMD          0x1022
#define XAI_PCI_DEVICE_DEFAULT      0x1419  /* Family 15h M10h-1Fh IOMMU */
#define XAI_PCI_CLASS_IOMMU         0x0806  /* base system, IOMMU */

/* IOMMU capability block in PCI config space (3.2.1.1 - 3.2.1.6) */
#define XAI_CAP_OFFSET              0x40
#define XAI_CAP_SIZE                0x18
#define XAI_MSI_CAP_OFFSET          0x60

#define XAI_CAP_ID                  0x0f    /* secure device */
#define XAI_CAP_HDR                 0x00
#define XAI_CAP_HDR_TYPE            (3u << 16)  /* CapType: IOMMU */
#define XAI_CAP_HDR_REV             (1u << 19)  /* CapRev: 00001b */
#define XAI_CAP_HDR_IOTLBSUP        BIT(24)
#define XAI_CAP_HDR_HTTUNNEL        BIT(25)
#define XAI_CAP_HDR_NPCACHE         BIT(26)
#define XAI_CAP_HDR_EFRSUP          BIT(27)
#define XAI_CAP_HDR_CAPEXT          BIT(28)
#define XAI_CAP_BAR_LO              0x04
#define XAI_CAP_BAR_LO_ENABLE       BIT(0)
#define XAI_CAP_BAR_LO_ADDR         0xffffc000u     /* BaseAddress[31:14] */
#define XAI_CAP_BAR_HI              0x08
#define XAI_CAP_RANGE               0x0c
#define XAI_CAP_RANGE_VALID         BIT(7)
#define XAI_CAP_RANGE_BUS_SHIFT     8
#define XAI_CAP_RANGE_FIRST_SHIFT   16
#define XAI_CAP_RANGE_LAST_SHIFT    24
#define XAI_CAP_MISC0               0x10
/* Address sizes, in MISC0 and in the IVRS's IVinfo alike */
#define XAI_SIZES_GVA_SHIFT         5
#define XAI_SIZES_GVA_48            2u
#define XAI_SIZES_GVA_57            3u
#define XAI_SIZES_PA_SHIFT          8
#define XAI_SIZES_VA_SHIFT          15
#define XAI_CAP_MISC1               0x14

/*
 * MMIO register file (3.4). The BAR spans the two 8 KiB pages that hold
 * every register we implement; performance counters (4000h) are not
 * offered (EFR.PCSup = 0), so the driver maps no more than this.
 */
#define XAI_MMIO_SIZE               0x4000

#define XAI_REG_DEVTAB_BASE         0x0000
#define XAI_REG_CMD_BASE            0x0008
#define XAI_REG_EVT_BASE            0x0010
#define XAI_REG_CONTROL             0x0018
#define XAI_REG_EXCL_BASE           0x0020
#define XAI_REG_EXCL_LIMIT          0x0028
#define XAI_REG_EFR                 0x0030
#define XAI_REG_PPR_BASE            0x0038
#define XAI_REG_HW_EVT_HI           0x0040
#define XAI_REG_HW_EVT_LO           0x0048
#define XAI_REG_HW_EVT_STATUS       0x0050
#define XAI_REG_EFR2                0x01a0
#define XAI_REG_CMD_HEAD            0x2000
#define XAI_REG_CMD_TAIL            0x2008
#define XAI_REG_EVT_HEAD            0x2010
#define XAI_REG_EVT_TAIL            0x2018
#define XAI_REG_STATUS              0x2020
#define XAI_REG_PPR_HEAD            0x2030
#define XAI_REG_PPR_TAIL            0x2038

/* Base registers: 4 KiB aligned address, ring or table length */
#define XAI_BASE_ADDR               XAI_MASK(51, 12)
#define XAI_DEVTAB_SIZE             XAI_MASK(8, 0)   /* 4 KiB units - 1 */
#define XAI_RING_LEN                XAI_MASK(59, 56) /* log2(entries) */
#define XAI_RING_LEN_SHIFT          56
#define XAI_RING_LEN_MIN            8       /* 0000b-0111b are reserved */
#define XAI_RING_ENTRY_SIZE         16
#define XAI_RING_PTR                XAI_MASK(18, 4)  /* head / tail */

#define XAI_EXCL_ENABLE             BIT_ULL(0)
#define XAI_EXCL_ALLOW              BIT_ULL(1)

/* IOMMU Control Register (3.4.3) */
#define XAI_CTRL_IOMMU_EN           BIT_ULL(0)
#define XAI_CTRL_HT_TUN_EN          BIT_ULL(1)
#define XAI_CTRL_EVT_LOG_EN         BIT_ULL(2)
#define XAI_CTRL_EVT_INT_EN         BIT_ULL(3)
#define XAI_CTRL_COMWAIT_INT_EN     BIT_ULL(4)
#define XAI_CTRL_INV_TIMEOUT        XAI_MASK(7, 5)
#define XAI_CTRL_PASS_PW            BIT_ULL(8)
#define XAI_CTRL_RES_PASS_PW        BIT_ULL(9)
#define XAI_CTRL_COHERENT           BIT_ULL(10)
#define XAI_CTRL_ISOC               BIT_ULL(11)
#define XAI_CTRL_CMD_BUF_EN         BIT_ULL(12)
#define XAI_CTRL_PPR_LOG_EN         BIT_ULL(13)
#define XAI_CTRL_PPR_INT_EN         BIT_ULL(14)
#define XAI_CTRL_PPR_EN             BIT_ULL(15)
#define XAI_CTRL_GT_EN              BIT_ULL(16)
#define XAI_CTRL_EPH_EN             BIT_ULL(45)

/* Extended Feature Register (3.4.5) */
#define XAI_EFR_PREF_SUP            BIT_ULL(0)
#define XAI_EFR_PPR_SUP             BIT_ULL(1)
#define XAI_EFR_XT_SUP              BIT_ULL(2)
#define XAI_EFR_NX_SUP              BIT_ULL(3)
#define XAI_EFR_GT_SUP              BIT_ULL(4)
#define XAI_EFR_IA_SUP              BIT_ULL(6)
#define XAI_EFR_GA_SUP              BIT_ULL(7)
#define XAI_EFR_HE_SUP              BIT_ULL(8)
#define XAI_EFR_PC_SUP              BIT_ULL(9)
#define XAI_EFR_HATS_SHIFT          10      /* 00b: 4 levels .. 10b: 6 */
#define XAI_EFR_GATS_SHIFT          12      /* 00b: 4 levels, 01b: 5 */
#define XAI_EFR_GLX_SHIFT           14      /* GCR3 table levels - 1 */
#define XAI_EFR_PASMAX_SHIFT        32      /* PASID width - 1 */
#define XAI_EFR_GIO_SUP             BIT_ULL(48)
#define XAI_EFR_EPH_SUP             BIT_ULL(50)

/* IOMMU Status Register (3.4.8) */
#define XAI_STATUS_EVT_OVERFLOW     BIT_ULL(0)
#define XAI_STATUS_EVT_LOG_INT      BIT_ULL(1)
#define XAI_STATUS_COMWAIT_INT      BIT_ULL(2)
#define XAI_STATUS_EVT_LOG_RUN      BIT_ULL(3)
#define XAI_STATUS_CMD_BUF_RUN      BIT_ULL(4)
#define XAI_STATUS_PPR_OVERFLOW     BIT_ULL(5)
#define XAI_STATUS_PPR_INT          BIT_ULL(6)
#define XAI_STATUS_PPR_LOG_RUN      BIT_ULL(7)
#define XAI_STATUS_W1C              (XAI_STATUS_EVT_OVERFLOW | \
                                     XAI_STATUS_EVT_LOG_INT | \
                                     XAI_STATUS_COMWAIT_INT | \
                                     XAI_STATUS_PPR_OVERFLOW | \
                                     XAI_STATUS_PPR_INT)
#define XAI_STATUS_RUN              (XAI_STATUS_EVT_LOG_RUN | \
                                     XAI_STATUS_CMD_BUF_RUN | \
                                     XAI_STATUS_PPR_LOG_RUN)

/* Hardware event status (3.4.6) */
#define XAI_HW_EVT_STATUS_HEV       BIT_ULL(0)
#define XAI_HW_EVT_STATUS_HEO       BIT_ULL(1)

/*
 * Commands (2.4): 128 bits, read as two little-endian quadwords.
 * q0 = dword1:dword0, q1 = dword3:dword2. Opcode is q0[63:60].
 */
#define XAI_CMD_OPCODE_SHIFT        60
#define XAI_CMD_COMPLETION_WAIT     0x1
#define XAI_CMD_INV_DEVTAB_ENTRY    0x2
#define XAI_CMD_INV_IOMMU_PAGES     0x3
#define XAI_CMD_INV_IOTLB_PAGES     0x4
#define XAI_CMD_INV_INTERRUPT_TABLE 0x5
#define XAI_CMD_PREFETCH_IOMMU_PAGES 0x6
#define XAI_CMD_COMPLETE_PPR_REQUEST 0x7
#define XAI_CMD_INV_IOMMU_ALL       0x8
#define XAI_CMD_NR_OPCODES          16

/* COMPLETION_WAIT (2.4.1) */
#define XAI_CW_S                    BIT_ULL(0)
#define XAI_CW_I                    BIT_ULL(1)
#define XAI_CW_F                    BIT_ULL(2)
#define XAI_CW_STORE_ADDR           XAI_MASK(51, 3)
#define XAI_CW_RSVD0                XAI_MASK(59, 52)

/* Fields shared by several commands */
#define XAI_CMD_DEVID               XAI_MASK(15, 0)
#define XAI_CMD_RSVD_OPCODE_LOW     XAI_MASK(59, 32)    /* dword1[27:0] */
#define XAI_CMD_ADDR                XAI_MASK(63, 12)
#define XAI_CMD_S                   BIT_ULL(0)
#define XAI_CMD_PDE                 BIT_ULL(1)
#define XAI_CMD_GN                  BIT_ULL(2)
#define XAI_CMD_ADDR_RSVD           XAI_MASK(11, 3)

/* INVALIDATE_DEVTAB_ENTRY (2.4.2), INVALIDATE_INTERRUPT_TABLE (2.4.5) */
#define XAI_CMD_DEVID_ONLY_RSVD0    (XAI_MASK(31, 16) | XAI_CMD_RSVD_OPCODE_LOW)

/* INVALIDATE_IOMMU_PAGES (2.4.3) */
#define XAI_IIP_PASID               XAI_MASK(19, 0)
#define XAI_IIP_DOMID_SHIFT         32
#define XAI_IIP_RSVD0               (XAI_MASK(31, 20) | XAI_MASK(59, 48))

/* INVALIDATE_IOTLB_PAGES (2.4.4) */
#define XAI_IIOTLB_PASID_HI_SHIFT   16      /* q0[23:16] = PASID[15:8] */
#define XAI_IIOTLB_MAXPEND_SHIFT    24
#define XAI_IIOTLB_QUEUEID_SHIFT    32
#define XAI_IIOTLB_PASID_LO_SHIFT   48      /* q0[55:48] = PASID[7:0] */
#define XAI_IIOTLB_TYPE             XAI_MASK(5, 4)  /* q1: not reserved */
#define XAI_IIOTLB_RSVD1            (BIT_ULL(1) | \
                                     (XAI_CMD_ADDR_RSVD & ~XAI_IIOTLB_TYPE))

/* PREFETCH_IOMMU_PAGES (2.4.6) */
#define XAI_PF_COUNT_SHIFT          24
#define XAI_PF_PASID_SHIFT          32
#define XAI_PF_INVAL                BIT_ULL(4)      /* q1 */
#define XAI_PF_RSVD1                (BIT_ULL(1) | \
                                     (XAI_CMD_ADDR_RSVD & ~XAI_PF_INVAL))
#define XAI_PF_RSVD0                (XAI_MASK(23, 16) | XAI_MASK(59, 52))

/* COMPLETE_PPR_REQUEST (2.4.7) */
#define XAI_CPPR_PASID_SHIFT        32
#define XAI_CPPR_RSVD0              (XAI_MASK(31, 16) | XAI_MASK(59, 52))
#define XAI_CPPR_TAG_SHIFT          32      /* q1[40:32] */
#define XAI_CPPR_TAG                XAI_MASK(41, 32)
#define XAI_CPPR_STATUS_SHIFT       44      /* q1[47:44] */
#define XAI_CPPR_STATUS             XAI_MASK(47, 44)
/* q1[47:32] is the 16-bit completion tag: bits 43:42 are the guest's */
#define XAI_CPPR_RSVD1              (XAI_MASK(1, 0) | XAI_MASK(31, 3) | \
                                     XAI_MASK(63, 48))

/* INVALIDATE_IOMMU_ALL (2.4.8) */
#define XAI_CMD_ALL_RSVD0           XAI_MASK(59, 0)

/* Event log entries (2.5): q0[63:60] is the event code */
#define XAI_EVT_CODE_SHIFT          60
#define XAI_EVT_ILLEGAL_DEV_TABLE_ENTRY 0x1
#define XAI_EVT_IO_PAGE_FAULT       0x2
#define XAI_EVT_ILLEGAL_COMMAND     0x5
#define XAI_EVT_COMMAND_HW_ERROR    0x6

/* PPR log entries (2.6): PAGE_SERVICE_REQUEST, format 1 */
#define XAI_PPR_TYPE_REQUEST        0x1
#define XAI_PPR_TYPE_SHIFT          60
#define XAI_PPR_DEVID               XAI_MASK(15, 0)
#define XAI_PPR_PASID_LO_SHIFT      16      /* q0[31:16] = PASID[15:0] */
#define XAI_PPR_TAG_SHIFT           32      /* q0[41:32] */
#define XAI_PPR_TAG_MASK            0x3ff
#define XAI_PPR_PASID_HI_SHIFT      42      /* q0[45:42] = PASID[19:16] */
#define XAI_PPR_FLAGS_SHIFT         48      /* q0[59:48] */
#define XAI_PPR_FLAGS_MASK          0xfff
#define XAI_PPR_FLAG_GN             0x100   /* PASID valid */
#define XAI_PPR_ADDR                XAI_MASK(63, 12)

/* Device table entry (2.2.2): 256 bits, four quadwords */
#define XAI_DTE_SIZE                32
#define XAI_DTE_V                   BIT_ULL(0)
#define XAI_DTE_TV                  BIT_ULL(1)
#define XAI_DTE_MODE_SHIFT          9           /* q0[11:9] */
#define XAI_DTE_PT_ROOT             XAI_MASK(51, 12)
#define XAI_DTE_PPR                 BIT_ULL(52)
#define XAI_DTE_GIOV                BIT_ULL(54)
#define XAI_DTE_GV                  BIT_ULL(55)
#define XAI_DTE_GLX_SHIFT           56          /* q0[57:56] */
#define XAI_DTE_GCR3_A_SHIFT        58          /* q0[60:58] = GCR3[14:12] */
#define XAI_DTE_IR                  BIT_ULL(61)
#define XAI_DTE_IW                  BIT_ULL(62)
#define XAI_DTE1_DOMID              XAI_MASK(15, 0)
#define XAI_DTE1_GCR3_B_SHIFT       16          /* q1[31:16] = GCR3[30:15] */
#define XAI_DTE1_I                  BIT_ULL(32) /* device IOTLB (ATS) */
#define XAI_DTE1_SE                 BIT_ULL(33) /* suppress page faults */
#define XAI_DTE1_SA                 BIT_ULL(34) /* suppress all faults */
#define XAI_DTE1_EX                 BIT_ULL(39) /* exclusion range applies */
#define XAI_DTE1_GCR3_C_SHIFT       43          /* q1[63:43] = GCR3[51:31] */
#define XAI_DTE2_GPM_SHIFT          54          /* q2[55:54]: 0 4-level, 1 5 */

/* Page table entries, host (v1) format (2.2.3) */
#define XAI_PTE_PR                  BIT_ULL(0)
#define XAI_PTE_NEXT_SHIFT          9           /* [11:9] next level */
#define XAI_PTE_ADDR                XAI_MASK(51, 12)
#define XAI_PTE_IR                  BIT_ULL(61)
#define XAI_PTE_IW                  BIT_ULL(62)
#define XAI_PTE_NEXT_SIZED          7           /* page size in address */

/* Guest (x86-64) page tables and GCR3 table entries (2.2.6) */
#define XAI_GPTE_P                  BIT_ULL(0)
#define XAI_GPTE_RW                 BIT_ULL(1)
#define XAI_GPTE_US                 BIT_ULL(2)
#define XAI_GPTE_A                  BIT_ULL(5)
#define XAI_GPTE_D                  BIT_ULL(6)
#define XAI_GPTE_PS                 BIT_ULL(7)
#define XAI_GPTE_ADDR               XAI_MASK(51, 12)
#define XAI_GPTE_NX                 BIT_ULL(63)
#define XAI_GCR3_V                  BIT_ULL(0)

/* IO_PAGE_FAULT / ILLEGAL_DEV_TABLE_ENTRY event flags, q0[59:48] (2.5.2) */
#define XAI_EVT_FLAGS_SHIFT         48
#define XAI_EVT_F_GN                BIT(0)
#define XAI_EVT_F_NX                BIT(1)
#define XAI_EVT_F_US                BIT(2)
#define XAI_EVT_F_I                 BIT(3)
#define XAI_EVT_F_PR                BIT(4)
#define XAI_EVT_F_RW                BIT(5)
#define XAI_EVT_F_PE                BIT(6)
#define XAI_EVT_F_RZ                BIT(7)
#define XAI_EVT_F_TR                BIT(8)
#define XAI_EVT_F_IDR_US            BIT(1)  /* INVALID_DEVICE_REQUEST's */
#define XAI_EVT_HW_MASTER_ABORT     (1 << 9)    /* hardware error type */
#define XAI_EVT_DEV_TAB_HW_ERROR    0x3
#define XAI_EVT_PAGE_TAB_HW_ERROR   0x4
#define XAI_EVT_INVALID_DEVICE_REQUEST 0x8

/* MSI window: interrupt requests are not address-translated (2.2.5) */
#define XAI_MSI_WINDOW_BASE         0xfee00000ULL
#define XAI_MSI_WINDOW_END          0xfeefffffULL

#endif /* HW_XEN_AMD_IOMMU_V2_BITS_H */
