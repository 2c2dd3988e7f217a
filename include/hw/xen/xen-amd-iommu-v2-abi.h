/*
 * xen-amd-iommu-v2: the device-model operations (dm_op) between QEMU and a
 * Xen hypervisor that runs the guest IOMMU's fast path
 *
 * No released Xen has these operations: this project defines them. The
 * structures are laid out as they are to appear in Xen's public header
 * xen/include/public/hvm/dm_op.h: fixed-width fields, explicit padding,
 * 64-bit fields at 8-byte offsets and 8-byte aligned, every structure at
 * most 255 bytes (dm_op() sizes its ops with a uint8_t table) and none
 * larger than the biggest existing member of struct xen_dm_op's union (24
 * bytes), so adding them does not change sizeof(struct xen_dm_op).
 *
 * Each operation is one struct xen_dm_op in the hypercall's buffer 0
 * ({ uint32_t op; uint32_t pad; union u } with u at offset 8; the
 * envelope below has that layout). The channel's FETCH and INJECT
 * commands carry an array of records in buffer 1.
 *
 * Every "must be zero" field or flag that is not zero, and every unknown
 * command, fails with -EINVAL. Every operation either succeeds or leaves
 * the hypervisor's state as it was.
 *
 * See docs/specs/xen-amd-iommu-v2-abi.rst for who calls what, and when.
 *
 * Include this header after xen_native.h (or <xendevicemodel.h>) where
 * both are used: when a patched Xen's dm_op.h already defines these
 * operations, only their layout is checked here.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_XEN_XEN_AMD_IOMMU_V2_ABI_H
#define HW_XEN_XEN_AMD_IOMMU_V2_ABI_H

#include <stddef.h>
#include <stdint.h>

/*
 * 64-bit fields are 8-byte aligned on every ABI, as Xen's uint64_aligned_t
 * makes them for 32-bit callers (GCC and clang, as QEMU and Xen need).
 * uint64_aligned_t itself is left alone: Xen's headers define it
 * differently per architecture.
 */
#define XAI_ABI_U64 uint64_t __attribute__((aligned(8)))

#ifndef XEN_DMOP_guest_iommu_set_base

/*
 * ABI version: major in bits 31:16, minor in bits 15:0. A hypervisor
 * serves callers of its own major; a new minor only adds feature bits,
 * commands or flags, each announced by a XEN_DMOP_GUEST_IOMMU_F_* bit.
 */
#define XEN_DMOP_GUEST_IOMMU_ABI_VERSION    0x00010000u
#define XEN_DMOP_GUEST_IOMMU_ABI_MAJOR(v)   ((uint32_t)(v) >> 16)
#define XEN_DMOP_GUEST_IOMMU_ABI_MINOR(v)   ((uint32_t)(v) & 0xffffu)

/*
 * PCI segment/bus/devfn in one 32-bit value, encoded as XEN_DMOP_PCI_SBDF
 * encodes them: segment 31:16, bus 15:8, device 7:3, function 2:0. The
 * low 16 bits are the AMD IOMMU's device ID.
 */
#define XEN_DMOP_GUEST_IOMMU_SBDF(seg, bus, devfn) \
    ((((uint32_t)(seg) & 0xffffu) << 16) | \
     (((uint32_t)(bus) & 0xffu) << 8) | \
     ((uint32_t)(devfn) & 0xffu))

/*
 * XEN_DMOP_guest_iommu_set_base: place, move or remove the register
 * window of guest IOMMU instance <id>.
 *
 * <base> != 0: from this call on the hypervisor decodes the guest-physical
 * range [base, base + size) itself and owns the instance's register file,
 * command buffer, event log and PPR log. <size> is a power of two from
 * 16 KiB to 512 KiB and <base> a multiple of it. <efr> is the Extended
 * Feature Register the guest reads at offset 30h; it must lie within the
 * efr_max that XEN_DMOP_guest_iommu_get_info reports. A second call with
 * another base moves the window; the IOMMU's state is kept.
 *
 * <base> == 0: the window is no longer decoded (<size> and <efr> must be
 * 0). The instance stays the hypervisor's: it keeps running queued
 * commands and logs, and a later call maps it again.
 *
 * XEN_DMOP_GUEST_IOMMU_BASE_RESET first puts the instance's registers in
 * their power-on state (all rings stopped), as a PCI or platform reset.
 */
#define XEN_DMOP_guest_iommu_set_base 21

struct xen_dm_op_guest_iommu_set_base {
    uint16_t id;            /* IN - guest IOMMU instance */
    uint16_t flags;         /* IN - XEN_DMOP_GUEST_IOMMU_BASE_* */
#define XEN_DMOP_GUEST_IOMMU_BASE_RESET         (1u << 0)
    uint32_t size;          /* IN - window length in bytes, 0 with base 0 */
    XAI_ABI_U64 base;       /* IN - guest-physical address, 0 = unmapped */
    XAI_ABI_U64 efr;        /* IN - Extended Feature Register to present */
};
typedef struct xen_dm_op_guest_iommu_set_base
    xen_dm_op_guest_iommu_set_base_t;

/* Window sizes the ABI allows (the device uses the minimum). */
#define XEN_DMOP_GUEST_IOMMU_WINDOW_MIN         0x4000u
#define XEN_DMOP_GUEST_IOMMU_WINDOW_MAX         0x80000u

/*
 * XEN_DMOP_guest_iommu_set_msi: the MSI the IOMMU of instance <id>
 * signals with, as the guest programmed it into the function's MSI
 * capability, decoded; sent again whenever the guest changes the address,
 * the data, the enable or the mask.
 *
 * Without XEN_DMOP_GUEST_IOMMU_MSI_ENABLED the IOMMU sends nothing (the
 * other fields may then be zero). While XEN_DMOP_GUEST_IOMMU_MSI_MASKED
 * is set an interrupt is held pending and sent when the mask clears.
 * The decoded fields are what the hypervisor delivers; <addr> and <data>
 * are the raw message they came from and must agree with them.
 */
#define XEN_DMOP_guest_iommu_set_msi 22

struct xen_dm_op_guest_iommu_set_msi {
    uint16_t id;            /* IN - guest IOMMU instance */
    uint16_t flags;         /* IN - XEN_DMOP_GUEST_IOMMU_MSI_* */
#define XEN_DMOP_GUEST_IOMMU_MSI_ENABLED        (1u << 0)
#define XEN_DMOP_GUEST_IOMMU_MSI_MASKED         (1u << 1)
    uint8_t vector;         /* IN - 16..255 when enabled */
    uint8_t dest_mode;      /* IN - 0 physical, 1 logical */
    uint8_t delivery_mode;  /* IN - XEN_DMOP_GUEST_IOMMU_DELIVERY_* */
#define XEN_DMOP_GUEST_IOMMU_DELIVERY_FIXED     0
#define XEN_DMOP_GUEST_IOMMU_DELIVERY_LOWPRI    1
    uint8_t trig_mode;      /* IN - 0 edge, 1 level */
    uint32_t dest;          /* IN - destination APIC ID */
    uint32_t data;          /* IN - MSI data as programmed */
    XAI_ABI_U64 addr;       /* IN - MSI address as programmed */
};
typedef struct xen_dm_op_guest_iommu_set_msi xen_dm_op_guest_iommu_set_msi_t;

/*
 * XEN_DMOP_guest_iommu_bind_bdf: tell instance <id> which machine device
 * stands behind a guest device ID, or forget it.
 *
 * BIND: <guest_sbdf> is the device as the guest sees it (its segment is
 * the IOMMU's), <machine_sbdf> the host device assigned to the domain.
 * The hypervisor rewrites device IDs with this table both ways: in
 * commands it forwards to the host IOMMU, and in PPR and event log
 * entries it copies from the host IOMMU into the guest's logs.
 * -EEXIST if either side is already bound (in any instance of the
 * domain), -ENODEV if the machine device is not assigned to the domain or
 * not behind a host IOMMU, -ENOSPC when max_bindings are in use.
 *
 * UNBIND: removes the binding of <guest_sbdf>, which must be bound to
 * <machine_sbdf> (-ENOENT otherwise). UNBIND_ALL: removes every binding
 * of the instance (both SBDFs 0). A device leaving the domain is unbound
 * by the hypervisor itself.
 */
#define XEN_DMOP_guest_iommu_bind_bdf 23

struct xen_dm_op_guest_iommu_bind_bdf {
    uint16_t id;            /* IN - guest IOMMU instance */
    uint8_t cmd;            /* IN - XEN_DMOP_GUEST_IOMMU_BDF_* */
#define XEN_DMOP_GUEST_IOMMU_BDF_BIND           0
#define XEN_DMOP_GUEST_IOMMU_BDF_UNBIND         1
#define XEN_DMOP_GUEST_IOMMU_BDF_UNBIND_ALL     2
    uint8_t pad;
    uint32_t guest_sbdf;    /* IN - XEN_DMOP_GUEST_IOMMU_SBDF() */
    uint32_t machine_sbdf;  /* IN - XEN_DMOP_GUEST_IOMMU_SBDF() */
    uint32_t flags;         /* IN - must be 0 */
};
typedef struct xen_dm_op_guest_iommu_bind_bdf
    xen_dm_op_guest_iommu_bind_bdf_t;

/*
 * XEN_DMOP_guest_iommu_ppr_channel: how the hypervisor tells the device
 * model what happened in instance <id>.
 *
 * BIND: the hypervisor allocates an event channel port in the target
 * domain whose remote end is the caller's domain, and returns it in
 * <port> (bind it as an interdomain channel). <flags> chooses the records
 * it queues (XEN_DMOP_GUEST_IOMMU_CHAN_*), each only if get_info reported
 * the matching feature. The port is signalled when records are queued.
 * -EBUSY if the channel is already bound; the other commands fail with
 * -EPERM when called from another domain than the one that bound it.
 *
 * UNBIND: closes the port and drops queued records (-ENOENT if unbound).
 *
 * FETCH: buffer 1 holds room for <nr> records (1..FETCH_MAX); the
 * hypervisor writes up to <nr> of them, oldest first, and returns how
 * many in <nr>, how many are still queued in <pending>, and how many it
 * had to drop since the previous FETCH in <dropped>. A FETCH acknowledges
 * every record returned by the previous FETCH: the caller has handled
 * them (see XEN_DMOP_GUEST_IOMMU_CHAN_COMMANDS).
 *
 * INJECT: buffer 1 holds <nr> (1..FETCH_MAX) records of type PPR or
 * EVENT, with guest device IDs, which the hypervisor appends to the
 * guest's log as the hardware would and then signals as it signals its
 * own. Returns in <nr> how many were appended; stops at the first that
 * cannot be: -EAGAIN if the guest has not enabled or started that log,
 * -ENOSPC if it is full (the overflow is recorded as hardware would).
 */
#define XEN_DMOP_guest_iommu_ppr_channel 24

struct xen_dm_op_guest_iommu_ppr_channel {
    uint16_t id;            /* IN - guest IOMMU instance */
    uint8_t cmd;            /* IN - XEN_DMOP_GUEST_IOMMU_CHAN_CMD_* */
#define XEN_DMOP_GUEST_IOMMU_CHAN_CMD_BIND      0
#define XEN_DMOP_GUEST_IOMMU_CHAN_CMD_UNBIND    1
#define XEN_DMOP_GUEST_IOMMU_CHAN_CMD_FETCH     2
#define XEN_DMOP_GUEST_IOMMU_CHAN_CMD_INJECT    3
    uint8_t pad;
    uint32_t flags;         /* IN - BIND: XEN_DMOP_GUEST_IOMMU_CHAN_*; else 0 */
/* A record for every PPR log entry the hypervisor writes */
#define XEN_DMOP_GUEST_IOMMU_CHAN_PPR           (1u << 0)
/* A record for every event log entry the hypervisor writes */
#define XEN_DMOP_GUEST_IOMMU_CHAN_EVENT         (1u << 1)
/* The device model sends the IOMMU's MSIs: INTERRUPT records instead */
#define XEN_DMOP_GUEST_IOMMU_CHAN_DM_MSI        (1u << 2)
/* Guest commands naming unbound device IDs: COMMAND records */
#define XEN_DMOP_GUEST_IOMMU_CHAN_COMMANDS      (1u << 3)
    uint32_t port;          /* OUT - BIND: event channel port; else 0 */
    uint32_t nr;            /* IN/OUT - FETCH, INJECT: records */
    uint32_t pending;       /* OUT - FETCH: records still queued */
    uint32_t dropped;       /* OUT - FETCH: records lost since last FETCH */
};
typedef struct xen_dm_op_guest_iommu_ppr_channel
    xen_dm_op_guest_iommu_ppr_channel_t;

/* Records per FETCH or INJECT call (buffer 1 stays within a page) */
#define XEN_DMOP_GUEST_IOMMU_FETCH_MAX          64

/*
 * One record of the channel, in buffer 1 of FETCH and INJECT.
 *
 * PPR, EVENT: <entry> is the 16-byte log entry (two little-endian
 * quadwords, as in guest memory) whose device ID is the guest's. From
 * FETCH it has already been written to the guest's log.
 * INTERRUPT (CHAN_DM_MSI only): the IOMMU would have sent its MSI now;
 * <status> holds bits 31:0 of its Status register. Consecutive ones
 * merge while queued.
 * COMMAND (CHAN_COMMANDS only): <entry> is a guest command whose device
 * ID is not bound (INVALIDATE_DEVTAB_ENTRY, INVALIDATE_IOTLB_PAGES,
 * COMPLETE_PPR_REQUEST), or that concerns every device
 * (INVALIDATE_IOMMU_PAGES, INVALIDATE_IOMMU_ALL). A COMPLETION_WAIT
 * behind it does not complete before the record is acknowledged.
 */
struct xen_dm_op_guest_iommu_record {
    uint8_t type;           /* XEN_DMOP_GUEST_IOMMU_REC_* */
#define XEN_DMOP_GUEST_IOMMU_REC_PPR            1
#define XEN_DMOP_GUEST_IOMMU_REC_EVENT          2
#define XEN_DMOP_GUEST_IOMMU_REC_INTERRUPT      3
#define XEN_DMOP_GUEST_IOMMU_REC_COMMAND        4
    uint8_t flags;          /* must be 0 */
    uint16_t pad;
    uint32_t status;        /* INTERRUPT: Status register 31:0; else 0 */
    XAI_ABI_U64 entry[2];   /* PPR, EVENT, COMMAND: the 16 bytes */
};
typedef struct xen_dm_op_guest_iommu_record xen_dm_op_guest_iommu_record_t;

/*
 * XEN_DMOP_guest_iommu_get_info: does this hypervisor run guest IOMMUs,
 * for this domain, and with what.
 *
 * The caller sets <magic> to XEN_DMOP_GUEST_IOMMU_MAGIC_IN and
 * <abi_version> to its XEN_DMOP_GUEST_IOMMU_ABI_VERSION; on success the
 * hypervisor returns XEN_DMOP_GUEST_IOMMU_MAGIC_OUT and its own version.
 * A caller uses no other operation of this ABI unless it got both back
 * with a matching major version. The call changes nothing.
 *
 * <unavailable> != 0 says why the domain cannot have one (every other
 * operation then fails with -EOPNOTSUPP). <efr_max> bounds the EFR that
 * set_base accepts: each one-bit feature may be set only where it is set
 * here, and each multi-bit field (HATS, GATS, GLXSup, PASmax, ...) may
 * not exceed its value here.
 */
#define XEN_DMOP_guest_iommu_get_info 25

struct xen_dm_op_guest_iommu_get_info {
    uint32_t magic;         /* IN - MAGIC_IN; OUT - MAGIC_OUT */
    uint32_t abi_version;   /* IN - caller's; OUT - hypervisor's */
    uint32_t features;      /* OUT - XEN_DMOP_GUEST_IOMMU_F_* */
/* Hypervisor sends the MSIs itself from set_msi */
#define XEN_DMOP_GUEST_IOMMU_F_HV_MSI           (1u << 0)
/* Channel flag CHAN_DM_MSI */
#define XEN_DMOP_GUEST_IOMMU_F_DM_MSI           (1u << 1)
/* Channel flags CHAN_PPR and CHAN_EVENT */
#define XEN_DMOP_GUEST_IOMMU_F_NOTIFY           (1u << 2)
/* Channel command INJECT */
#define XEN_DMOP_GUEST_IOMMU_F_INJECT           (1u << 3)
/* Channel flag CHAN_COMMANDS */
#define XEN_DMOP_GUEST_IOMMU_F_COMMANDS         (1u << 4)
/* Bound devices sit behind a host IOMMUv2 (PPR, guest translation) */
#define XEN_DMOP_GUEST_IOMMU_F_HOST_IOMMU       (1u << 5)
    uint8_t max_instances;  /* OUT - instances per domain (ids 0..n-1) */
    uint8_t unavailable;    /* OUT - XEN_DMOP_GUEST_IOMMU_UNAVAIL_* */
#define XEN_DMOP_GUEST_IOMMU_UNAVAIL_NONE       0
/* Domain created without XEN_X86_EMU_IOMMU in its emulation flags */
#define XEN_DMOP_GUEST_IOMMU_UNAVAIL_NO_VIOMMU  1
/* Turned off in the hypervisor's configuration */
#define XEN_DMOP_GUEST_IOMMU_UNAVAIL_DISABLED   2
/* The host lacks what the implementation needs */
#define XEN_DMOP_GUEST_IOMMU_UNAVAIL_HOST       3
    uint16_t max_bindings;  /* OUT - bind_bdf entries per instance */
    XAI_ABI_U64 efr_max;    /* OUT - see above */
};
typedef struct xen_dm_op_guest_iommu_get_info
    xen_dm_op_guest_iommu_get_info_t;

#define XEN_DMOP_GUEST_IOMMU_MAGIC_IN           0x51494158u /* "XAIQ" */
#define XEN_DMOP_GUEST_IOMMU_MAGIC_OUT          0x41494158u /* "XAIA" */

#endif /* !XEN_DMOP_guest_iommu_set_base */

/*
 * Buffer 0 of the hypercall for these operations: the head of Xen's
 * struct xen_dm_op with only this ABI's members in its union. Xen copies
 * 8 + sizeof(member) bytes in, and back out for operations that return
 * something, so sizeof() of this envelope is a valid buffer length.
 */
struct xen_amd_iommu_v2_dm_op {
    uint32_t op;            /* XEN_DMOP_guest_iommu_* */
    uint32_t pad;           /* must be 0 */
    union {
        xen_dm_op_guest_iommu_set_base_t set_base;
        xen_dm_op_guest_iommu_set_msi_t set_msi;
        xen_dm_op_guest_iommu_bind_bdf_t bind_bdf;
        xen_dm_op_guest_iommu_ppr_channel_t ppr_channel;
        xen_dm_op_guest_iommu_get_info_t get_info;
    } u;
};

/*
 * The layout is the ABI: check it wherever this header is compiled, and
 * against a patched Xen's own definitions when those are the ones in use.
 */
#ifdef QEMU_BUILD_BUG_ON
#define XAI_ABI_CHECK(cond) QEMU_BUILD_BUG_ON(!(cond))
#else
#define XAI_ABI_CHECK(cond) _Static_assert(cond, #cond)
#endif

/* A field's offset and size */
#define XAI_ABI_AT(type, field, off, len) \
    XAI_ABI_CHECK(offsetof(struct type, field) == (off) && \
                  sizeof(((struct type *)0)->field) == (len))

XAI_ABI_CHECK(XEN_DMOP_guest_iommu_set_base == 21);
XAI_ABI_CHECK(XEN_DMOP_guest_iommu_set_msi == 22);
XAI_ABI_CHECK(XEN_DMOP_guest_iommu_bind_bdf == 23);
XAI_ABI_CHECK(XEN_DMOP_guest_iommu_ppr_channel == 24);
XAI_ABI_CHECK(XEN_DMOP_guest_iommu_get_info == 25);
XAI_ABI_CHECK(XEN_DMOP_GUEST_IOMMU_ABI_MAJOR(
                  XEN_DMOP_GUEST_IOMMU_ABI_VERSION) == 1);

XAI_ABI_CHECK(sizeof(struct xen_dm_op_guest_iommu_set_base) == 24);
XAI_ABI_AT(xen_dm_op_guest_iommu_set_base, id, 0, 2);
XAI_ABI_AT(xen_dm_op_guest_iommu_set_base, flags, 2, 2);
XAI_ABI_AT(xen_dm_op_guest_iommu_set_base, size, 4, 4);
XAI_ABI_AT(xen_dm_op_guest_iommu_set_base, base, 8, 8);
XAI_ABI_AT(xen_dm_op_guest_iommu_set_base, efr, 16, 8);

XAI_ABI_CHECK(sizeof(struct xen_dm_op_guest_iommu_set_msi) == 24);
XAI_ABI_AT(xen_dm_op_guest_iommu_set_msi, id, 0, 2);
XAI_ABI_AT(xen_dm_op_guest_iommu_set_msi, flags, 2, 2);
XAI_ABI_AT(xen_dm_op_guest_iommu_set_msi, vector, 4, 1);
XAI_ABI_AT(xen_dm_op_guest_iommu_set_msi, dest_mode, 5, 1);
XAI_ABI_AT(xen_dm_op_guest_iommu_set_msi, delivery_mode, 6, 1);
XAI_ABI_AT(xen_dm_op_guest_iommu_set_msi, trig_mode, 7, 1);
XAI_ABI_AT(xen_dm_op_guest_iommu_set_msi, dest, 8, 4);
XAI_ABI_AT(xen_dm_op_guest_iommu_set_msi, data, 12, 4);
XAI_ABI_AT(xen_dm_op_guest_iommu_set_msi, addr, 16, 8);

XAI_ABI_CHECK(sizeof(struct xen_dm_op_guest_iommu_bind_bdf) == 16);
XAI_ABI_AT(xen_dm_op_guest_iommu_bind_bdf, id, 0, 2);
XAI_ABI_AT(xen_dm_op_guest_iommu_bind_bdf, cmd, 2, 1);
XAI_ABI_AT(xen_dm_op_guest_iommu_bind_bdf, pad, 3, 1);
XAI_ABI_AT(xen_dm_op_guest_iommu_bind_bdf, guest_sbdf, 4, 4);
XAI_ABI_AT(xen_dm_op_guest_iommu_bind_bdf, machine_sbdf, 8, 4);
XAI_ABI_AT(xen_dm_op_guest_iommu_bind_bdf, flags, 12, 4);

XAI_ABI_CHECK(sizeof(struct xen_dm_op_guest_iommu_ppr_channel) == 24);
XAI_ABI_AT(xen_dm_op_guest_iommu_ppr_channel, id, 0, 2);
XAI_ABI_AT(xen_dm_op_guest_iommu_ppr_channel, cmd, 2, 1);
XAI_ABI_AT(xen_dm_op_guest_iommu_ppr_channel, pad, 3, 1);
XAI_ABI_AT(xen_dm_op_guest_iommu_ppr_channel, flags, 4, 4);
XAI_ABI_AT(xen_dm_op_guest_iommu_ppr_channel, port, 8, 4);
XAI_ABI_AT(xen_dm_op_guest_iommu_ppr_channel, nr, 12, 4);
XAI_ABI_AT(xen_dm_op_guest_iommu_ppr_channel, pending, 16, 4);
XAI_ABI_AT(xen_dm_op_guest_iommu_ppr_channel, dropped, 20, 4);

XAI_ABI_CHECK(sizeof(struct xen_dm_op_guest_iommu_record) == 24);
XAI_ABI_AT(xen_dm_op_guest_iommu_record, type, 0, 1);
XAI_ABI_AT(xen_dm_op_guest_iommu_record, flags, 1, 1);
XAI_ABI_AT(xen_dm_op_guest_iommu_record, pad, 2, 2);
XAI_ABI_AT(xen_dm_op_guest_iommu_record, status, 4, 4);
XAI_ABI_AT(xen_dm_op_guest_iommu_record, entry, 8, 16);
XAI_ABI_CHECK(XEN_DMOP_GUEST_IOMMU_FETCH_MAX *
              sizeof(struct xen_dm_op_guest_iommu_record) <= 4096);

XAI_ABI_CHECK(sizeof(struct xen_dm_op_guest_iommu_get_info) == 24);
XAI_ABI_AT(xen_dm_op_guest_iommu_get_info, magic, 0, 4);
XAI_ABI_AT(xen_dm_op_guest_iommu_get_info, abi_version, 4, 4);
XAI_ABI_AT(xen_dm_op_guest_iommu_get_info, features, 8, 4);
XAI_ABI_AT(xen_dm_op_guest_iommu_get_info, max_instances, 12, 1);
XAI_ABI_AT(xen_dm_op_guest_iommu_get_info, unavailable, 13, 1);
XAI_ABI_AT(xen_dm_op_guest_iommu_get_info, max_bindings, 14, 2);
XAI_ABI_AT(xen_dm_op_guest_iommu_get_info, efr_max, 16, 8);

XAI_ABI_AT(xen_amd_iommu_v2_dm_op, op, 0, 4);
XAI_ABI_AT(xen_amd_iommu_v2_dm_op, pad, 4, 4);
XAI_ABI_AT(xen_amd_iommu_v2_dm_op, u, 8, 24);
XAI_ABI_CHECK(sizeof(struct xen_amd_iommu_v2_dm_op) == 32);

#ifdef XEN_DMOP_nr_vcpus /* Xen's dm_op.h is in (4.14 and later) */
/* Xen's own envelope puts the union where ours is, and is no smaller. */
XAI_ABI_CHECK(offsetof(struct xen_dm_op, u) == 8);
XAI_ABI_CHECK(sizeof(struct xen_amd_iommu_v2_dm_op) <=
              sizeof(struct xen_dm_op));
#endif

#undef XAI_ABI_AT
#undef XAI_ABI_CHECK
#undef XAI_ABI_U64

#endif /* HW_XEN_XEN_AMD_IOMMU_V2_ABI_H */
