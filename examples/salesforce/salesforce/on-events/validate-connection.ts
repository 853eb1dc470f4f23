import { createOnEvent } from 'nango';
import * as z from 'zod';

// One schema for all three functions: they share one metadata object.
const Metadata = z.object({
    organizationId: z.string().optional(),
    webhookId: z.string().optional(),
});

export default createOnEvent({
    description: 'Validate connection against saved organization id to prevent changing account on reconnect',
    event: 'validate-connection',
    metadata: Metadata,
    exec: async (nango) => {
        const metadata = await nango.getMetadata();
        const lockedOrganizationId = metadata?.organizationId;

        const response = await nango.get<{ organization_id?: string }>({
            endpoint: '/services/oauth2/userinfo',
        });
        const organizationId = response.data?.organization_id;
        if (!organizationId) {
            throw new nango.ActionError('Salesforce connection missing organization_id from /services/oauth2/userinfo');
        }

        // On first connect, lock the organization. updateMetadata merges: nothing else is lost.
        if (!lockedOrganizationId) {
            await nango.updateMetadata({ organizationId });
            return;
        }

        if (lockedOrganizationId !== organizationId) {
            throw new nango.ActionError(
                `Salesforce org mismatch: expected ${lockedOrganizationId}, got ${organizationId}`,
            );
        }
    },
});
