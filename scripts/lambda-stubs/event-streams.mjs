// Replaces @smithy/core/event-streams in the Lambda bundles. The SDK loads it only for operations with event-stream
// members, and neither DynamoDB nor KMS has one; leaving it out keeps ~15 KB away from every cold start. Should a
// future SDK reach it anyway, the call fails with this error instead of misbehaving.
const unavailable = () => {
  throw new Error('@smithy/core/event-streams is not bundled: no DynamoDB or KMS operation used here streams events');
};

export class EventStreamSerde {
  constructor() {
    unavailable();
  }
}
export const eventStreamSerdeProvider = unavailable;
