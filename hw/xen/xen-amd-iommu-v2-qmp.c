/*
 * xen-amd-iommu-v2 QMP commands: state query and PPR injection
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/lockable.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-xen-amd-iommu-v2.h"
#include "hw/pci/msi.h"
#include "hw/xen/xen-amd-iommu-v2.h"

static int xai_qmp_collect(Object *obj, void *opaque)
{
    GSList **list = opaque;

    if (object_dynamic_cast(obj, TYPE_XEN_AMD_IOMMU_V2)) {
        *list = g_slist_append(*list, obj);
    }
    return 0;
}

static GSList *xai_qmp_devices(void)
{
    GSList *list = NULL;

    object_child_foreach_recursive(object_get_root(), xai_qmp_collect, &list);
    return list;
}

static XenAmdIommuV2State *xai_qmp_find(const char *id, Error **errp)
{
    g_autoptr(GSList) all = NULL;
    Object *obj;

    if (id) {
        bool ambiguous = false;

        /*
         * A device's id first, as device_del takes it: a partial path
         * also matches links to the device (a requester's iommu=).
         */
        obj = object_resolve_path_at(machine_get_container("peripheral"),
                                     id);
        obj = obj ? object_dynamic_cast(obj, TYPE_XEN_AMD_IOMMU_V2) : NULL;
        if (obj) {
            return XEN_AMD_IOMMU_V2(obj);
        }
        obj = object_resolve_path_type(id, TYPE_XEN_AMD_IOMMU_V2,
                                       &ambiguous);
        if (!obj) {
            error_setg(errp, ambiguous ? "'%s' names more than one %s "
                       "device: give its full path" : "no %s device '%s'",
                       ambiguous ? id : TYPE_XEN_AMD_IOMMU_V2,
                       ambiguous ? TYPE_XEN_AMD_IOMMU_V2 : id);
            return NULL;
        }
        return XEN_AMD_IOMMU_V2(obj);
    }
    all = xai_qmp_devices();
    if (!all) {
        error_setg(errp, "no %s device", TYPE_XEN_AMD_IOMMU_V2);
        return NULL;
    }
    if (g_slist_length(all) != 1) {
        error_setg(errp, "%u %s devices: say which with 'id'",
                   g_slist_length(all), TYPE_XEN_AMD_IOMMU_V2);
        return NULL;
    }
    return XEN_AMD_IOMMU_V2(all->data);
}

static void xai_qmp_bindings(XenAmdIommuV2Link *l,
                             XenAmdIommuV2BindingList **list)
{
    XenAmdIommuV2BindingList **tail = list;
    int i;

    for (i = 0; i < l->bindings->len; i++) {
        const XenAmdIommuV2Bdf *b =
            &g_array_index(l->bindings, XenAmdIommuV2Bdf, i);
        XenAmdIommuV2Binding *q = g_new0(XenAmdIommuV2Binding, 1);

        q->guest = g_strdup_printf("%02x:%02x.%x", PCI_BUS_NUM(b->guest_bdf),
                                   PCI_SLOT(b->guest_bdf),
                                   PCI_FUNC(b->guest_bdf));
        q->machine = g_strdup_printf("%04x:%02x:%02x.%x", b->machine_seg,
                                     PCI_BUS_NUM(b->machine_bdf),
                                     PCI_SLOT(b->machine_bdf),
                                     PCI_FUNC(b->machine_bdf));
        QAPI_LIST_APPEND(tail, q);
    }
}

static XenAmdIommuV2Info *xai_qmp_info(XenAmdIommuV2State *s)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    XenAmdIommuV2Engine *e = &s->engine;
    XenAmdIommuV2Info *info = g_new0(XenAmdIommuV2Info, 1);
    uint64List **tail = &info->commands;
    int i;

    QEMU_LOCK_GUARD(&e->lock);      /* counters move with iothreads' DMA */
    info->path = object_get_canonical_path(OBJECT(s));
    info->base = xen_amd_iommu_v2_base(s, &info->decode);
    info->msi_enabled = msi_enabled(pdev);
    if (msi_present(pdev)) {
        MSIMessage msg = msi_get_message(pdev, 0);

        info->msi_address = msg.address;
        info->msi_data = msg.data;
    }
    info->engine = g_strdup(s->link.ops->name);
    info->link_base = s->link.base;
    info->link_msi_enabled = s->link.msi_enabled;
    info->link_msi_address = s->link.msi.address;
    info->link_msi_data = s->link.msi.data;
    xai_qmp_bindings(&s->link, &info->bindings);
    QAPI_LIST_PREPEND(info->link_calls, s->link.bind_calls);
    QAPI_LIST_PREPEND(info->link_calls, s->link.set_msi_calls);
    QAPI_LIST_PREPEND(info->link_calls, s->link.set_base_calls);
    info->efr = e->efr;
    info->control = e->regs[XAI_R_CONTROL];
    info->status = e->regs[XAI_R_STATUS];
    for (i = 0; i < ARRAY_SIZE(e->counters.commands); i++) {
        QAPI_LIST_APPEND(tail, e->counters.commands[i]);
    }
    info->illegal_commands = e->counters.illegal_commands;
    info->events = e->counters.events;
    info->ppr_requests = e->counters.ppr_requests;
    info->ppr_completions = e->counters.ppr_completions;
    info->log_drops = e->counters.log_drops;
    info->interrupts = e->counters.interrupts;
    info->translations = e->counters.translations;
    info->iotlb_hits = e->counters.iotlb_hits;
    info->register_accesses = e->counters.register_accesses;
    if (e->have_last_completion) {
        XenAmdIommuV2PprCompletionInfo *c =
            g_new0(XenAmdIommuV2PprCompletionInfo, 1);

        c->devid = e->last_completion.devid;
        c->has_pasid = e->last_completion.pasid_valid;
        c->pasid = e->last_completion.pasid;
        c->tag = e->last_completion.tag;
        c->status = e->last_completion.status;
        info->last_ppr_completion = c;
    }
    return info;
}

XenAmdIommuV2InfoList *qmp_query_xen_amd_iommu_v2(Error **errp)
{
    g_autoptr(GSList) all = xai_qmp_devices();
    XenAmdIommuV2InfoList *head = NULL, **tail = &head;
    GSList *l;

    for (l = all; l; l = l->next) {
        QAPI_LIST_APPEND(tail, xai_qmp_info(XEN_AMD_IOMMU_V2(l->data)));
    }
    return head;
}

void qmp_xen_amd_iommu_v2_inject_ppr(const char *id, uint16_t devid,
                                     bool has_pasid, uint32_t pasid,
                                     uint16_t tag, uint16_t flags,
                                     uint64_t address, Error **errp)
{
    XenAmdIommuV2State *s = xai_qmp_find(id, errp);
    XenAmdIommuV2PprRequest req = {
        .devid = devid,
        .pasid_valid = has_pasid,
        .pasid = has_pasid ? pasid : 0,
        .tag = tag,
        .flags = flags,
        .address = address,
    };

    if (s) {
        xen_amd_iommu_v2_page_request(s, &req, errp);
    }
}

void qmp_xen_amd_iommu_v2_bind_bdf(const char *id, const char *guest,
                                   const char *machine, bool bind,
                                   Error **errp)
{
    XenAmdIommuV2State *s = xai_qmp_find(id, errp);
    XenAmdIommuV2Bdf b = { 0 };
    uint16_t gseg;

    if (!s || !xen_amd_iommu_v2_parse_bdf(guest, &gseg, &b.guest_bdf,
                                          errp)) {
        return;
    }
    if (gseg) {
        error_setg(errp, "guest device '%s': the IOMMU's segment is 0",
                   guest);
        return;
    }
    if (bind) {
        if (!machine) {
            error_setg(errp, "binding needs 'machine'");
            return;
        }
        if (!xen_amd_iommu_v2_parse_bdf(machine, &b.machine_seg,
                                        &b.machine_bdf, errp)) {
            return;
        }
    }
    if (xen_amd_iommu_v2_link_bind(&s->link, &b, bind, errp) && bind) {
        xen_amd_iommu_v2_bound(s);
    }
}
