package bts

import (
	"context"
	"log/slog"
	"strings"

	"github.com/flowbridge/flowbridge/supplier"
)

// statusTable is the one mapping from BTS's raw order_status to the
// normalised status. Keys are folded (lower case, accents removed, single
// spaces; see foldStatus). English values are from the vendor document and
// live use; the localized ones are there because BTS may answer in the
// account's language (es, de, fr, it) — an assumption, see the package doc.
// "Paid" means BTS has the money and is preparing the parcel: processing.
func statusTable() map[string]supplier.Status {
	return map[string]supplier.Status{
		// pending: created, waiting for payment (test-mode orders stay here)
		"pending payment":        supplier.StatusPending,
		"awaiting payment":       supplier.StatusPending,
		"pending":                supplier.StatusPending,
		"pendiente de pago":      supplier.StatusPending,
		"pago pendiente":         supplier.StatusPending,
		"pendiente":              supplier.StatusPending,
		"zahlung ausstehend":     supplier.StatusPending,
		"ausstehende zahlung":    supplier.StatusPending,
		"warten auf zahlung":     supplier.StatusPending,
		"en attente de paiement": supplier.StatusPending,
		"in attesa di pagamento": supplier.StatusPending,
		// processing: paid, being prepared
		"paid":           supplier.StatusProcessing,
		"processing":     supplier.StatusProcessing,
		"pagado":         supplier.StatusProcessing,
		"pagada":         supplier.StatusProcessing,
		"en preparacion": supplier.StatusProcessing,
		"bezahlt":        supplier.StatusProcessing,
		"in bearbeitung": supplier.StatusProcessing,
		"paye":           supplier.StatusProcessing,
		"payee":          supplier.StatusProcessing,
		"pagato":         supplier.StatusProcessing,
		// shipped
		"shipped":    supplier.StatusShipped,
		"sent":       supplier.StatusShipped,
		"enviado":    supplier.StatusShipped,
		"enviada":    supplier.StatusShipped,
		"expedido":   supplier.StatusShipped,
		"versandt":   supplier.StatusShipped,
		"versendet":  supplier.StatusShipped,
		"verschickt": supplier.StatusShipped,
		"expedie":    supplier.StatusShipped,
		"expediee":   supplier.StatusShipped,
		"spedito":    supplier.StatusShipped,
		// delivered
		"delivered":  supplier.StatusDelivered,
		"entregado":  supplier.StatusDelivered,
		"entregada":  supplier.StatusDelivered,
		"zugestellt": supplier.StatusDelivered,
		"geliefert":  supplier.StatusDelivered,
		"livre":      supplier.StatusDelivered,
		"livree":     supplier.StatusDelivered,
		"consegnato": supplier.StatusDelivered,
		// cancelled (portal cancellations show here, with tracking null)
		"cancelled": supplier.StatusCancelled,
		"canceled":  supplier.StatusCancelled,
		"cancelado": supplier.StatusCancelled,
		"cancelada": supplier.StatusCancelled,
		"anulado":   supplier.StatusCancelled,
		"anulada":   supplier.StatusCancelled,
		"storniert": supplier.StatusCancelled,
		"annule":    supplier.StatusCancelled,
		"annulee":   supplier.StatusCancelled,
		"annullato": supplier.StatusCancelled,
	}
}

// MapStatus maps a raw BTS order_status to the normalised status; ok is
// false (and the status StatusUnknown) for values the table does not know.
func MapStatus(raw string) (s supplier.Status, ok bool) {
	s, ok = statusTable()[foldStatus(raw)]
	if !ok {
		return supplier.StatusUnknown, false
	}
	return s, true
}

// status maps raw and surfaces unknown values: logged (the raw status is not
// customer data) and reported to the observer.
func (c *Client) status(ctx context.Context, raw string) supplier.Status {
	s, ok := MapStatus(raw)
	if !ok {
		c.log.LogAttrs(ctx, slog.LevelWarn, "bts: unknown order status", slog.String("raw_status", raw))
		if c.onUnknown != nil {
			c.onUnknown(raw)
		}
	}
	return s
}

// foldStatus lower-cases, strips accents and collapses whitespace and
// separators so "Pendiente  de Pago", "pending_payment" and "Expédié" match.
func foldStatus(raw string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(strings.TrimSpace(raw)) {
		switch r {
		case 'á', 'à', 'â', 'ä', 'ã':
			r = 'a'
		case 'é', 'è', 'ê', 'ë':
			r = 'e'
		case 'í', 'ì', 'î', 'ï':
			r = 'i'
		case 'ó', 'ò', 'ô', 'ö', 'õ':
			r = 'o'
		case 'ú', 'ù', 'û', 'ü':
			r = 'u'
		case 'ñ':
			r = 'n'
		case 'ç':
			r = 'c'
		}
		if r == ' ' || r == '_' || r == '-' || r == '\t' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}
