import { createOnEvent } from 'nango';
import * as z from 'zod';

const Metadata = z.object({
    organizationId: z.string().optional(),
    webhookId: z.string().optional(),
});

export default createOnEvent({
    description: 'Delete the Salesforce webhook before connection deletion',
    event: 'pre-connection-deletion',
    metadata: Metadata,
    exec: async (nango) => {
        const metadata = await nango.getMetadata();
        if (!metadata?.webhookId) {
            return;
        }

        try {
            await nango.delete({
                endpoint: `/webhooks/${metadata.webhookId}`,
            });
        } catch (error) {
            // Idempotent: a webhook that is already gone is what we wanted.
            if ((error as { response?: { status?: number } }).response?.status !== 404) {
                throw error;
            }
        }
    },
});
