-- The biller's GS1 location number (GLN), as printed in (415) on its invoices' barcodes.
ALTER TABLE billers ADD COLUMN gln TEXT;
CREATE UNIQUE INDEX billers_gln ON billers (gln);
