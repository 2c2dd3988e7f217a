/*
 * xen-amd-iommu-v2: Xen's end of the link (the hypervisor fast path)
 *
 * The device-model ops are those of docs/specs/xen-amd-iommu-v2-abi.rst.
 * Built against a libxendevicemodel that has them (the project's Xen
 * patches), they go through its xendevicemodel_guest_iommu_* calls on
 * QEMU's own handle. Stock libxendevicemodel cannot issue new ops, so
 * they then go through a privcmd descriptor of our own, restricted to the
 * guest's domain at once like the ones QEMU's Xen libraries hold. A
 * hypervisor that answers the probe with EOPNOTSUPP (every Xen released
 * so far) has no fast path.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "hw/xen/xen_native.h"
#include "hw/xen/xen_backend_ops.h"
#include "hw/xen/xen-amd-iommu-v2.h"
#include "hw/xen/xen-amd-iommu-v2-abi.h"
#include "xen-amd-iommu-v2-bits.h"
#include <sys/ioctl.h>
#include <xen/sys/privcmd.h>
#include "trace.h"

typedef struct XaiXenLink {
    int fd;
    uint16_t id;
    uint64_t efr;
    uint32_t features;
    xenevtchn_handle *xe;
    evtchn_port_t port;
    QEMUBH *fetch_bh;       /* more records than one pass fetches */
    bool said_dropped;      /* warned that records were dropped */
} XaiXenLink;

#ifdef CONFIG_XEN_DM_GUEST_IOMMU

#define XAI_XEN_TRANSPORT "libxendevicemodel"

static int xai_xen_channel_op(xen_dm_op_guest_iommu_ppr_channel_t *c,
                              void *buf1)
{
    xendevicemodel_handle *dm = xen_dmod;
    evtchn_port_t port = 0;
    int rc;

    switch (c->cmd) {
    case XEN_DMOP_GUEST_IOMMU_CHAN_CMD_BIND:
        rc = xendevicemodel_guest_iommu_ppr_channel_bind(dm, xen_domid, c->id,
                                                         c->flags, &port);
        c->port = port;
        return rc;
    case XEN_DMOP_GUEST_IOMMU_CHAN_CMD_UNBIND:
        return xendevicemodel_guest_iommu_ppr_channel_unbind(dm, xen_domid,
                                                             c->id);
    case XEN_DMOP_GUEST_IOMMU_CHAN_CMD_FETCH:
        return xendevicemodel_guest_iommu_ppr_channel_fetch(dm, xen_domid,
                                                            c->id, buf1,
                                                            &c->nr,
                                                            &c->pending,
                                                            &c->dropped);
    case XEN_DMOP_GUEST_IOMMU_CHAN_CMD_INJECT:
        return xendevicemodel_guest_iommu_ppr_channel_inject(dm, xen_domid,
                                                             c->id, buf1,
                                                             &c->nr);
    }
    errno = EINVAL;
    return -1;
}

/* One op through the library's wrapper for it; -errno on failure */
static int xai_xen_dm_op(XaiXenLink *x, struct xen_amd_iommu_v2_dm_op *op,
                         void *buf1, size_t len1)
{
    xendevicemodel_handle *dm = xen_dmod;
    int rc;

    switch (op->op) {
    case XEN_DMOP_guest_iommu_get_info:
        rc = xendevicemodel_guest_iommu_get_info(dm, xen_domid,
                                                 &op->u.get_info);
        break;
    case XEN_DMOP_guest_iommu_set_base:
        rc = xendevicemodel_guest_iommu_set_base(dm, xen_domid,
                                                 op->u.set_base.id,
                                                 op->u.set_base.flags,
                                                 op->u.set_base.base,
                                                 op->u.set_base.size,
                                                 op->u.set_base.efr);
        break;
    case XEN_DMOP_guest_iommu_set_msi:
        rc = xendevicemodel_guest_iommu_set_msi(dm, xen_domid,
                                                &op->u.set_msi);
        break;
    case XEN_DMOP_guest_iommu_bind_bdf:
        rc = xendevicemodel_guest_iommu_bind_bdf(dm, xen_domid,
                                                 op->u.bind_bdf.id,
                                                 op->u.bind_bdf.cmd,
                                                 op->u.bind_bdf.guest_sbdf,
                                                 op->u.bind_bdf.machine_sbdf);
        break;
    case XEN_DMOP_guest_iommu_ppr_channel:
        if (buf1 && len1 < op->u.ppr_channel.nr *
                           sizeof(xen_dm_op_guest_iommu_record_t)) {
            return -EINVAL;
        }
        rc = xai_xen_channel_op(&op->u.ppr_channel, buf1);
        break;
    default:
        return -EOPNOTSUPP;
    }
    return rc < 0 ? -errno : 0;
}

static bool xai_xen_open_transport(XaiXenLink *x, Error **errp)
{
    x->fd = -1;     /* QEMU's handle, xen_dmod, is restricted already */
    return true;
}

#else /* !CONFIG_XEN_DM_GUEST_IOMMU */

#define XAI_XEN_TRANSPORT "privcmd"

static int xai_xen_dm_op(XaiXenLink *x, struct xen_amd_iommu_v2_dm_op *op,
                         void *buf1, size_t len1)
{
    privcmd_dm_op_buf_t bufs[2] = {
        { .uptr = op, .size = sizeof(*op) },
        { .uptr = buf1, .size = len1 },
    };
    privcmd_dm_op_t d = {
        .dom = xen_domid,
        .num = buf1 ? 2 : 1,
        .ubufs = bufs,
    };

    return ioctl(x->fd, IOCTL_PRIVCMD_DM_OP, &d) < 0 ? -errno : 0;
}

static bool xai_xen_open_transport(XaiXenLink *x, Error **errp)
{
    domid_t dom = xen_domid;

    x->fd = open("/dev/xen/privcmd", O_RDWR | O_CLOEXEC);
    if (x->fd < 0) {
        error_setg_errno(errp, errno, "%s: cannot open /dev/xen/privcmd",
                         TYPE_XEN_AMD_IOMMU_V2);
        return false;
    }
    /* Like QEMU's own handles: good for this guest only */
    if (ioctl(x->fd, IOCTL_PRIVCMD_RESTRICT, &dom) < 0 &&
        (errno != ENOTTY || xen_domid_restrict)) {
        error_setg_errno(errp, errno, "%s: cannot restrict privcmd to "
                         "domain %u", TYPE_XEN_AMD_IOMMU_V2, dom);
        close(x->fd);
        return false;
    }
    return true;
}

#endif /* CONFIG_XEN_DM_GUEST_IOMMU */

static void xai_xen_close_transport(XaiXenLink *x)
{
    if (x->fd >= 0) {
        close(x->fd);
    }
}

static bool xai_xen_op(XaiXenLink *x, struct xen_amd_iommu_v2_dm_op *op,
                       const char *name, Error **errp)
{
    int rc = xai_xen_dm_op(x, op, NULL, 0);

    if (rc) {
        error_setg_errno(errp, -rc, "%s: XEN_DMOP_guest_iommu_%s",
                         TYPE_XEN_AMD_IOMMU_V2, name);
        return false;
    }
    return true;
}

/* Unmapping (base 0) carries no window and no EFR, as the ABI wants */
static bool xai_xen_set_base(XenAmdIommuV2Link *l, uint64_t base,
                             bool reset, Error **errp)
{
    XaiXenLink *x = l->priv;
    struct xen_amd_iommu_v2_dm_op op = {
        .op = XEN_DMOP_guest_iommu_set_base,
        .u.set_base = {
            .id = x->id,
            .flags = reset && base ? XEN_DMOP_GUEST_IOMMU_BASE_RESET : 0,
            .size = base ? XEN_DMOP_GUEST_IOMMU_WINDOW_MIN : 0,
            .base = base,
            .efr = base ? x->efr : 0,
        },
    };

    return xai_xen_op(x, &op, "set_base", errp);
}

/* The hypervisor delivers from the decoded message (x86 MSI format) */
static bool xai_xen_set_msi(XenAmdIommuV2Link *l, const MSIMessage *msg,
                            Error **errp)
{
    XaiXenLink *x = l->priv;
    struct xen_amd_iommu_v2_dm_op op = {
        .op = XEN_DMOP_guest_iommu_set_msi,
        .u.set_msi.id = x->id,
    };

    if (msg) {
        op.u.set_msi.flags = XEN_DMOP_GUEST_IOMMU_MSI_ENABLED;
        op.u.set_msi.vector = msg->data & 0xff;
        op.u.set_msi.delivery_mode = (msg->data >> 8) & 7;
        op.u.set_msi.trig_mode = (msg->data >> 15) & 1;
        op.u.set_msi.dest = (msg->address >> 12) & 0xff;
        op.u.set_msi.dest_mode = (msg->address >> 2) & 1;
        op.u.set_msi.addr = msg->address;
        op.u.set_msi.data = msg->data;
    }
    return xai_xen_op(x, &op, "set_msi", errp);
}

static bool xai_xen_bind_bdf(XenAmdIommuV2Link *l, const XenAmdIommuV2Bdf *b,
                             bool bind, Error **errp)
{
    XaiXenLink *x = l->priv;
    struct xen_amd_iommu_v2_dm_op op = {
        .op = XEN_DMOP_guest_iommu_bind_bdf,
        .u.bind_bdf = {
            .id = x->id,
            .cmd = bind ? XEN_DMOP_GUEST_IOMMU_BDF_BIND
                        : XEN_DMOP_GUEST_IOMMU_BDF_UNBIND,
            .guest_sbdf = b->guest_bdf,
            .machine_sbdf = (uint32_t)b->machine_seg << 16 | b->machine_bdf,
        },
    };

    return xai_xen_op(x, &op, "bind_bdf", errp);
}

static bool xai_xen_send_msi(XenAmdIommuV2Link *l, const MSIMessage *msg)
{
    return xen_inject_msi(xen_domid, msg->address, msg->data) == 0;
}

/*
 * Records from the hypervisor: interrupts to send, entries it wrote. One
 * pass takes 16 batches; what is left comes in a bottom half, so that the
 * main loop runs in between and nothing waits for the next signal.
 */
static void xai_xen_fetch(XenAmdIommuV2Link *l)
{
    XaiXenLink *x = l->priv;
    xen_dm_op_guest_iommu_record_t recs[XEN_DMOP_GUEST_IOMMU_FETCH_MAX];
    struct xen_amd_iommu_v2_dm_op op = {
        .op = XEN_DMOP_guest_iommu_ppr_channel,
    };
    int round, i, rc;

    for (round = 0; round < 16; round++) {
        op.u.ppr_channel = (xen_dm_op_guest_iommu_ppr_channel_t) {
            .id = x->id,
            .cmd = XEN_DMOP_GUEST_IOMMU_CHAN_CMD_FETCH,
            .nr = ARRAY_SIZE(recs),
        };
        rc = xai_xen_dm_op(x, &op, recs, sizeof(recs));
        trace_xen_amd_iommu_v2_xen_fetch(rc, op.u.ppr_channel.nr,
                                         op.u.ppr_channel.pending,
                                         op.u.ppr_channel.dropped);
        if (rc) {
            return;
        }
        for (i = 0; i < op.u.ppr_channel.nr && i < ARRAY_SIZE(recs); i++) {
            trace_xen_amd_iommu_v2_xen_record(recs[i].type, recs[i].entry[0],
                                              recs[i].entry[1]);
            if (recs[i].type == XEN_DMOP_GUEST_IOMMU_REC_INTERRUPT) {
                xen_amd_iommu_v2_link_send_msi(l);
            }
        }
        if (op.u.ppr_channel.dropped && !x->said_dropped) {
            x->said_dropped = true;
            warn_report("%s: the hypervisor dropped %u records (INTERRUPT "
                        "or log entries) its queue had no room for",
                        TYPE_XEN_AMD_IOMMU_V2, op.u.ppr_channel.dropped);
        }
        /* Nothing returned: pending would not go down, do not spin */
        if (!op.u.ppr_channel.pending || !op.u.ppr_channel.nr) {
            return;
        }
    }
    qemu_bh_schedule(x->fetch_bh);
}

static void xai_xen_fetch_bh(void *opaque)
{
    xai_xen_fetch(opaque);
}

/* A PPR entry into the guest's log in Xen: the channel's INJECT */
static bool xai_xen_inject_ppr(XenAmdIommuV2Link *l, const uint64_t entry[2],
                               Error **errp)
{
    XaiXenLink *x = l->priv;
    xen_dm_op_guest_iommu_record_t rec = {
        .type = XEN_DMOP_GUEST_IOMMU_REC_PPR,
        .entry = { entry[0], entry[1] },
    };
    struct xen_amd_iommu_v2_dm_op op = {
        .op = XEN_DMOP_guest_iommu_ppr_channel,
        .u.ppr_channel = {
            .id = x->id,
            .cmd = XEN_DMOP_GUEST_IOMMU_CHAN_CMD_INJECT,
            .nr = 1,
        },
    };
    int rc;

    if (!(x->features & XEN_DMOP_GUEST_IOMMU_F_INJECT)) {
        error_setg(errp, "the hypervisor keeps the PPR log and takes no "
                   "entries from QEMU");
        return false;
    }
    rc = xai_xen_dm_op(x, &op, &rec, sizeof(rec));
    if (rc) {
        error_setg_errno(errp, -rc, "%s: XEN_DMOP_guest_iommu_ppr_channel "
                         "INJECT", TYPE_XEN_AMD_IOMMU_V2);
        return false;
    }
    if (op.u.ppr_channel.nr != 1) {
        error_setg(errp, "the hypervisor did not log the page request (PPR "
                   "off, its log not running or full)");
        return false;
    }
    return true;
}

static void xai_xen_channel_event(void *opaque)
{
    XenAmdIommuV2Link *l = opaque;
    XaiXenLink *x = l->priv;
    evtchn_port_t port = qemu_xen_evtchn_pending(x->xe);

    if (port == x->port) {
        qemu_xen_evtchn_unmask(x->xe, port);
        xai_xen_fetch(l);
    }
}

static bool xai_xen_bind_channel(XenAmdIommuV2Link *l, Error **errp)
{
    XaiXenLink *x = l->priv;
    struct xen_amd_iommu_v2_dm_op op = {
        .op = XEN_DMOP_guest_iommu_ppr_channel,
        .u.ppr_channel = {
            .id = x->id,
            .cmd = XEN_DMOP_GUEST_IOMMU_CHAN_CMD_BIND,
        },
    };
    int port;

    if (x->features & XEN_DMOP_GUEST_IOMMU_F_NOTIFY) {
        op.u.ppr_channel.flags |= XEN_DMOP_GUEST_IOMMU_CHAN_PPR |
                                  XEN_DMOP_GUEST_IOMMU_CHAN_EVENT;
    }
    if (!(x->features & XEN_DMOP_GUEST_IOMMU_F_HV_MSI)) {
        op.u.ppr_channel.flags |= XEN_DMOP_GUEST_IOMMU_CHAN_DM_MSI;
    }
    if (!op.u.ppr_channel.flags) {
        return true;        /* nothing to hear about */
    }
    if (!xai_xen_op(x, &op, "ppr_channel", errp)) {
        return false;
    }
    x->xe = qemu_xen_evtchn_open();
    if (!x->xe) {
        error_setg_errno(errp, errno, "%s: cannot open event channels",
                         TYPE_XEN_AMD_IOMMU_V2);
        return false;
    }
    port = qemu_xen_evtchn_bind_interdomain(x->xe, xen_domid,
                                            op.u.ppr_channel.port);
    if (port < 0) {
        error_setg_errno(errp, errno, "%s: cannot bind port %u",
                         TYPE_XEN_AMD_IOMMU_V2, op.u.ppr_channel.port);
        return false;
    }
    x->port = port;
    x->fetch_bh = qemu_bh_new(xai_xen_fetch_bh, l);
    qemu_set_fd_handler(qemu_xen_evtchn_fd(x->xe), xai_xen_channel_event,
                        NULL, l);
    return true;
}

static const XenAmdIommuV2LinkOps xai_xen_link_ops = {
    .name = "xen",
    .hypervisor_mmio = true,
    .set_base = xai_xen_set_base,
    .set_msi = xai_xen_set_msi,
    .bind_bdf = xai_xen_bind_bdf,
    .send_msi = xai_xen_send_msi,
    .inject_ppr = xai_xen_inject_ppr,
};

/* The EFR's multi-bit fields, which the ABI bounds by value */
static const struct {
    const char *property;
    unsigned shift, len;
} xai_efr_fields[] = {
    { "host-levels", XAI_EFR_HATS_SHIFT, 2 },
    { "guest-levels", XAI_EFR_GATS_SHIFT, 2 },
    { "gcr3-levels", XAI_EFR_GLX_SHIFT, 2 },
    { "pasid-bits", XAI_EFR_PASMAX_SHIFT, 5 },
};

/*
 * Whether the hypervisor can present @efr: one-bit features within
 * @max's, fields no larger than @max's. Else the property to blame.
 */
static const char *xai_xen_efr_misfit(uint64_t efr, uint64_t max)
{
    uint64_t fields = 0;
    int i;

    for (i = 0; i < ARRAY_SIZE(xai_efr_fields); i++) {
        unsigned shift = xai_efr_fields[i].shift, len = xai_efr_fields[i].len;

        fields |= MAKE_64BIT_MASK(shift, len);
        if (extract64(efr, shift, len) > extract64(max, shift, len)) {
            return xai_efr_fields[i].property;
        }
    }
    return efr & ~max & ~fields ? "a feature (prefetch, ppr, gt, ia, he, "
                                  "gio, eph)" : NULL;
}

/*
 * Ask the hypervisor for a fast path. 1: the link is Xen's; 0: none, with
 * the reason in *why; -1: an error worth failing for, in errp.
 */
int xen_amd_iommu_v2_xen_probe(XenAmdIommuV2Link *l, unsigned id,
                               uint64_t efr, const char **why,
                               Error **errp)
{
    g_autofree XaiXenLink *x = g_new0(XaiXenLink, 1);
    struct xen_amd_iommu_v2_dm_op op = {
        .op = XEN_DMOP_guest_iommu_get_info,
        .u.get_info = {
            .magic = XEN_DMOP_GUEST_IOMMU_MAGIC_IN,
            .abi_version = XEN_DMOP_GUEST_IOMMU_ABI_VERSION,
        },
    };
    const char *misfit;
    int rc;

    if (!xai_xen_open_transport(x, errp)) {
        return -1;
    }
    rc = xai_xen_dm_op(x, &op, NULL, 0);
    if (rc == -EOPNOTSUPP || rc == -ENOSYS || (!rc &&
        (op.u.get_info.magic != XEN_DMOP_GUEST_IOMMU_MAGIC_OUT ||
         XEN_DMOP_GUEST_IOMMU_ABI_MAJOR(op.u.get_info.abi_version) !=
         XEN_DMOP_GUEST_IOMMU_ABI_MAJOR(XEN_DMOP_GUEST_IOMMU_ABI_VERSION)))) {
        *why = "the hypervisor offers no guest IOMMU device-model ops";
        xai_xen_close_transport(x);
        return 0;
    }
    if (rc) {
        error_setg_errno(errp, -rc, "%s: XEN_DMOP_guest_iommu_get_info",
                         TYPE_XEN_AMD_IOMMU_V2);
        xai_xen_close_transport(x);
        return -1;
    }
    misfit = xai_xen_efr_misfit(efr, op.u.get_info.efr_max);
    if (op.u.get_info.unavailable || id >= op.u.get_info.max_instances ||
        misfit) {
        static char reason[96];

        if (op.u.get_info.unavailable) {
            *why = "the hypervisor runs no guest IOMMU for this domain";
        } else if (misfit) {
            snprintf(reason, sizeof(reason), "the hypervisor cannot offer "
                     "what %s asks for", misfit);
            *why = reason;
        } else {
            *why = "the hypervisor serves fewer instances";
        }
        xai_xen_close_transport(x);
        return 0;
    }
    x->id = id;
    x->efr = efr;
    x->features = op.u.get_info.features;
    info_report("%s: instance %u: the hypervisor's fast path serves the "
                "IOMMU (ABI %u.%u, features 0x%x, through %s)",
                TYPE_XEN_AMD_IOMMU_V2, id,
                XEN_DMOP_GUEST_IOMMU_ABI_MAJOR(op.u.get_info.abi_version),
                XEN_DMOP_GUEST_IOMMU_ABI_MINOR(op.u.get_info.abi_version),
                x->features, XAI_XEN_TRANSPORT);
    l->priv = g_steal_pointer(&x);
    l->ops = &xai_xen_link_ops;
    if (!xai_xen_bind_channel(l, errp)) {
        return -1;
    }
    return 1;
}
