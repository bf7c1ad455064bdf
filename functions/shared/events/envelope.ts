/**
 * The envelope every toilless event has, whatever its type: checked by both buses before they accept
 * an event, and by the EventBridge adapter when it takes one apart. Each consumer validates the detail
 * fields it reads.
 */
import * as z from 'zod';
import { EVENT_TYPES } from './types.js';

const id = z.string().min(1);
const time = z.iso.datetime({ offset: true });
const detail = z.record(z.string(), z.unknown());

/** A ToillessEvent's envelope: id, one of EVENT_TYPES, an ISO time with offset, and an object detail. */
export const toillessEventEnvelopeSchema = z.object({ id, type: z.enum(EVENT_TYPES), time, detail });

/** The envelope without its type, as an EventBridge entry's Detail carries it (the type is DetailType). */
export const eventBridgeDetailSchema = toillessEventEnvelopeSchema.omit({ type: true });
