/**
 * What an EventBridge rule delivers to a Lambda target, back as a toilless event. Apart from the bus
 * adapter so that a processor's handler reads its events without loading the EventBridge client.
 */
import type { EventBridgeEvent } from 'aws-lambda';
import * as z from 'zod';
import { eventBridgeDetailSchema } from '../../events/envelope.js';
import { EVENT_SOURCE, EVENT_TYPES, type ToillessEvent } from '../../events/types.js';
import { parseWith } from '../../validation.js';

/** The toilless event inside an EventBridge delivery to a Lambda target. Throws ValidationError if it is not one. */
export function fromEventBridgeEvent(event: EventBridgeEvent<string, unknown>): ToillessEvent {
  const envelope = parseWith(
    z.object({
      source: z.literal(EVENT_SOURCE, {
        message: `only events with source "${EVENT_SOURCE}" are toilless events`,
      }),
      'detail-type': z.enum(EVENT_TYPES, { message: `detail-type must be one of ${EVENT_TYPES.join(', ')}` }),
      detail: eventBridgeDetailSchema,
    }),
    event,
    'EventBridge event',
  );
  // The envelope is checked here; each consumer validates the detail fields it reads.
  return {
    id: envelope.detail.id,
    type: envelope['detail-type'],
    time: envelope.detail.time,
    detail: envelope.detail.detail,
  } as unknown as ToillessEvent;
}
