/** Query stats, shaped as Loki 3.4 sends them. */

export interface QueryStats {
  linesProcessed: number;
  bytesProcessed: number;
  postFilterLines: number;
  entriesReturned: number;
}

export function newStats(): QueryStats {
  return { linesProcessed: 0, bytesProcessed: 0, postFilterLines: 0, entriesReturned: 0 };
}

export function statsBody(stats: QueryStats, execTime: number) {
  const chunk = {
    headChunkBytes: stats.bytesProcessed,
    headChunkLines: stats.linesProcessed,
    decompressedBytes: 0,
    decompressedLines: 0,
    compressedBytes: 0,
    totalDuplicates: 0,
    postFilterLines: stats.postFilterLines,
    headChunkStructuredMetadataBytes: 0,
    decompressedStructuredMetadataBytes: 0,
  };
  const store = (c: typeof chunk, refsFetchTime: number) => ({
    totalChunksRef: 0,
    totalChunksDownloaded: 0,
    chunksDownloadTime: 0,
    queryReferencedStructuredMetadata: false,
    chunk: c,
    chunkRefsFetchTime: refsFetchTime,
    congestionControlLatency: 0,
    pipelineWrapperFilteredLines: 0,
  });
  const emptyChunk = Object.fromEntries(Object.keys(chunk).map((key) => [key, 0])) as typeof chunk;
  const cache = () => ({
    entriesFound: 0,
    entriesRequested: 0,
    entriesStored: 0,
    bytesReceived: 0,
    bytesSent: 0,
    requests: 0,
    downloadTime: 0,
    queryLengthServed: 0,
  });
  const perSecond = (amount: number) => (execTime > 0 ? Math.round(amount / execTime) : 0);
  return {
    summary: {
      bytesProcessedPerSecond: perSecond(stats.bytesProcessed),
      linesProcessedPerSecond: perSecond(stats.linesProcessed),
      totalBytesProcessed: stats.bytesProcessed,
      totalLinesProcessed: stats.linesProcessed,
      execTime,
      queueTime: 0,
      subqueries: 0,
      totalEntriesReturned: stats.entriesReturned,
      splits: 1,
      shards: 1,
      totalPostFilterLines: stats.postFilterLines,
      totalStructuredMetadataBytesProcessed: 0,
    },
    querier: { store: store(emptyChunk, 0) },
    ingester: {
      totalReached: 1,
      totalChunksMatched: stats.linesProcessed > 0 ? 1 : 0,
      totalBatches: 1,
      totalLinesSent: stats.postFilterLines,
      store: store(chunk, 0),
    },
    cache: {
      chunk: cache(),
      index: cache(),
      result: cache(),
      statsResult: cache(),
      volumeResult: cache(),
      seriesResult: cache(),
      labelResult: cache(),
      instantMetricResult: cache(),
    },
    index: { totalChunks: 0, postFilterChunks: 0, shardsDuration: 0, usedBloomFilters: false },
  };
}
