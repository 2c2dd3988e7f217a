/*
 * xen-amd-iommu-v2: the link, and QEMU's own end of it
 *
 * The generic half records what the device said (the QMP query shows it)
 * and forwards it to the engine's end. QEMU's end needs nothing more: its
 * engine serves the registers wherever the memory region is, so set_base
 * and bind_bdf only record, and its MSIs go to the address the guest
 * programmed, as the IOMMU's own message (not subject to Bus Master
 * Enable).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "exec/address-spaces.h"
#include "hw/xen/xen-amd-iommu-v2-link.h"
#include "trace.h"

static bool qemu_link_set_base(XenAmdIommuV2Link *l, uint64_t base,
                               bool reset, Error **errp)
{
    return true;
}

static bool qemu_link_set_msi(XenAmdIommuV2Link *l, const MSIMessage *msg,
                              Error **errp)
{
    return true;
}

static bool qemu_link_bind_bdf(XenAmdIommuV2Link *l,
                               const XenAmdIommuV2Bdf *b, bool bind,
                               Error **errp)
{
    return true;
}

static bool qemu_link_send_msi(XenAmdIommuV2Link *l, const MSIMessage *msg)
{
    MemTxResult res;

    address_space_stl_le(l->as, msg->address, msg->data, l->attrs, &res);
    return res == MEMTX_OK;
}

const XenAmdIommuV2LinkOps xen_amd_iommu_v2_qemu_link = {
    .name = "qemu",
    .set_base = qemu_link_set_base,
    .set_msi = qemu_link_set_msi,
    .bind_bdf = qemu_link_bind_bdf,
    .send_msi = qemu_link_send_msi,
};

void xen_amd_iommu_v2_link_init(XenAmdIommuV2Link *l,
                                const XenAmdIommuV2LinkOps *ops,
                                AddressSpace *as, MemTxAttrs attrs)
{
    l->ops = ops;
    l->as = as;
    l->attrs = attrs;
    if (!l->bindings) {
        l->bindings = g_array_new(false, true, sizeof(XenAmdIommuV2Bdf));
    }
}

/*
 * A value goes to the engine end once: again only after a reset or once
 * the guest wrote another, whether it was taken or refused (a refusal
 * would be refused again, at every config write).
 */
bool xen_amd_iommu_v2_link_set_base(XenAmdIommuV2Link *l, uint64_t base,
                                    bool reset, Error **errp)
{
    if (!reset && l->base_tried && base == l->tried_base) {
        return true;
    }
    l->base_tried = true;
    l->tried_base = base;
    trace_xen_amd_iommu_v2_link_set_base(l->ops->name, base);
    if (!l->ops->set_base(l, base, reset, errp)) {
        return false;
    }
    l->base = base;
    l->set_base_calls++;
    return true;
}

static bool xai_link_msi_equal(bool a_enabled, const MSIMessage *a,
                               bool b_enabled, const MSIMessage *b)
{
    return a_enabled == b_enabled &&
           (!a_enabled || (a->address == b->address && a->data == b->data));
}

bool xen_amd_iommu_v2_link_set_msi(XenAmdIommuV2Link *l,
                                   const MSIMessage *msg, Error **errp)
{
    bool enabled = msg != NULL;
    bool tried = xai_link_msi_equal(enabled, msg, l->guest_msi_enabled,
                                    &l->guest_msi);

    l->guest_msi_enabled = enabled;
    if (enabled) {
        l->guest_msi = *msg;
    }
    /* Taken already, or refused already (as set_base) */
    if (tried || xai_link_msi_equal(enabled, msg, l->msi_enabled, &l->msi)) {
        return true;
    }
    trace_xen_amd_iommu_v2_link_set_msi(l->ops->name, enabled,
                                        enabled ? msg->address : 0,
                                        enabled ? msg->data : 0);
    if (!l->ops->set_msi(l, msg, errp)) {
        return false;
    }
    l->msi_enabled = enabled;
    if (enabled) {
        l->msi = *msg;
    }
    l->set_msi_calls++;
    return true;
}

static int xai_link_find(XenAmdIommuV2Link *l, uint16_t guest_bdf)
{
    int i;

    for (i = 0; i < l->bindings->len; i++) {
        if (g_array_index(l->bindings, XenAmdIommuV2Bdf, i).guest_bdf ==
            guest_bdf) {
            return i;
        }
    }
    return -1;
}

bool xen_amd_iommu_v2_link_bind(XenAmdIommuV2Link *l,
                                const XenAmdIommuV2Bdf *b, bool bind,
                                Error **errp)
{
    int i = xai_link_find(l, b->guest_bdf);

    if (bind && i >= 0) {
        error_setg(errp, "guest BDF %02x:%02x.%x is already bound",
                   PCI_BUS_NUM(b->guest_bdf), PCI_SLOT(b->guest_bdf),
                   PCI_FUNC(b->guest_bdf));
        return false;
    }
    if (!bind && i < 0) {
        error_setg(errp, "guest BDF %02x:%02x.%x is not bound",
                   PCI_BUS_NUM(b->guest_bdf), PCI_SLOT(b->guest_bdf),
                   PCI_FUNC(b->guest_bdf));
        return false;
    }
    trace_xen_amd_iommu_v2_link_bind(l->ops->name, b->guest_bdf,
                                     b->machine_seg, b->machine_bdf, bind);
    if (!l->ops->bind_bdf(l, bind ? b :
                          &g_array_index(l->bindings, XenAmdIommuV2Bdf,
                                         i), bind, errp)) {
        return false;
    }
    if (bind) {
        g_array_append_val(l->bindings, *b);
    } else {
        g_array_remove_index(l->bindings, i);
    }
    l->bind_calls++;
    return true;
}

/*
 * The IOMMU's interrupt, with the message the guest programmed: the one
 * QEMU holds, also when the engine end refused it in set_msi (the
 * hypervisor's end may not take every message the guest may write).
 */
bool xen_amd_iommu_v2_link_send_msi(XenAmdIommuV2Link *l)
{
    const MSIMessage *msg = &l->guest_msi;

    if (!l->guest_msi_enabled) {
        return false;
    }
    if (!l->ops->send_msi(l, msg)) {
        trace_xen_amd_iommu_v2_msi(msg->address, msg->data, false);
        return false;
    }
    trace_xen_amd_iommu_v2_msi(msg->address, msg->data, true);
    l->msis_sent++;
    return true;
}

bool xen_amd_iommu_v2_parse_bdf(const char *s, uint16_t *seg, uint16_t *bdf,
                                Error **errp)
{
    unsigned int sg = 0, b, d, f;
    int n = 0;

    if (sscanf(s, "%x:%x:%x.%x%n", &sg, &b, &d, &f, &n) != 4 || s[n]) {
        sg = 0;
        n = 0;
        if (sscanf(s, "%x:%x.%x%n", &b, &d, &f, &n) != 3 || s[n]) {
            error_setg(errp, "'%s' is not [seg:]bus:dev.fn", s);
            return false;
        }
    }
    if (sg > 0xffff || b > 0xff || d > 0x1f || f > 7) {
        error_setg(errp, "'%s' is out of range", s);
        return false;
    }
    *seg = sg;
    *bdf = PCI_BUILD_BDF(b, PCI_DEVFN(d, f));
    return true;
}
