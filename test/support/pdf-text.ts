/**
 * Reading a PDF back as a person would: its text page by page, its page count and its outline
 * (bookmarks), with pdfjs-dist (Mozilla's PDF reader).
 */
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';

export interface OutlineEntry {
  readonly title: string;
  /** 1-based page the entry leads to. */
  readonly page: number;
  readonly children: readonly OutlineEntry[];
}

export interface PdfContents {
  readonly pageCount: number;
  /** Each page's text, the items joined by single spaces. */
  readonly pages: readonly string[];
  readonly outline: readonly OutlineEntry[];
  readonly info: Readonly<Record<string, unknown>>;
}

export async function readPdf(bytes: Buffer): Promise<PdfContents> {
  const pdf = await getDocument({
    data: new Uint8Array(bytes),
    useSystemFonts: false,
    isEvalSupported: false,
    verbosity: 0,
  }).promise;
  try {
    const pages: string[] = [];
    for (let number = 1; number <= pdf.numPages; number += 1) {
      const page = await pdf.getPage(number);
      const content = await page.getTextContent();
      pages.push(
        content.items
          .map((item) => ('str' in item ? item.str : ''))
          .join(' ')
          .replace(/\s+/g, ' ')
          .trim(),
      );
    }
    const pageOf = async (dest: unknown): Promise<number> => {
      const explicit = typeof dest === 'string' ? await pdf.getDestination(dest) : (dest as unknown[] | null);
      const ref = explicit?.[0];
      if (ref === undefined || ref === null) return 0;
      return (await pdf.getPageIndex(ref as Parameters<typeof pdf.getPageIndex>[0])) + 1;
    };
    type RawOutline = { title: string; dest: unknown; items: RawOutline[] };
    const convert = async (items: readonly RawOutline[]): Promise<OutlineEntry[]> =>
      Promise.all(
        items.map(async (item) => ({
          title: item.title,
          page: await pageOf(item.dest),
          children: await convert(item.items),
        })),
      );
    const outline = await convert(((await pdf.getOutline()) ?? []) as RawOutline[]);
    const metadata = await pdf.getMetadata();
    return { pageCount: pdf.numPages, pages, outline, info: metadata.info as Record<string, unknown> };
  } finally {
    await pdf.destroy();
  }
}
