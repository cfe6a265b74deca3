package credential

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/credential/proof"
	"github.com/touchstone-assess/touchstone/credential/status"
)

// statusListRow is one pair of published Bitstring Status Lists (revocation
// and suspension) that share their indexes. The bits are not stored: they
// are read from the credentials at publication, so a decision is visible
// to verifiers the moment it is committed.
type statusListRow struct {
	ID        string    `gorm:"column:id;primaryKey"`
	IssuerID  string    `gorm:"column:issuer_id"`
	Length    int       `gorm:"column:length"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

func (statusListRow) TableName() string { return "status_lists" }

// listFill is the share of a list's entries in use beyond which new
// credentials go to a new list. Indexes are drawn at random among the free
// ones, so a list never fills far enough for an index to reveal the order
// of issue, and drawing stays cheap.
const listFill = 0.5

// ErrUnknownStatusList: no status list has that id and purpose.
var ErrUnknownStatusList = errors.New("credential: unknown status list")

// StatusListURL is the URL of the status list credential for purpose.
func (s *Service) StatusListURL(listID, purpose string) string {
	return s.baseURL + "/status-lists/" + listID + "/" + purpose
}

// statusSlot is where a credential's status lives.
type statusSlot struct {
	ListID string
	Index  int
}

// entry returns the credentialStatus of slot: its revocation entry.
//
// The Open Badges 3.0 JSON Schema allows a credential one credentialStatus
// object, so a credential names its revocation list only. Its suspension
// bit sits at the same index of the sibling list, whose URL ends in
// "/suspension" where the revocation list's ends in "/revocation"
// (SuspensionEntry); Touchstone's verifier checks both.
func (s *Service) entry(slot statusSlot) map[string]any {
	return status.Entry(s.StatusListURL(slot.ListID, status.PurposeRevocation), slot.Index, status.PurposeRevocation)
}

// SuspensionEntry returns the suspension entry that pairs with a
// revocation entry of a Touchstone status list (same index, sibling list),
// or nil when the entry does not follow that convention.
func SuspensionEntry(revocation map[string]any) map[string]any {
	if p, _ := revocation["statusPurpose"].(string); p != status.PurposeRevocation {
		return nil
	}
	list, _ := revocation["statusListCredential"].(string)
	base, ok := strings.CutSuffix(list, "/"+status.PurposeRevocation)
	if !ok || !strings.Contains(base, "/status-lists/") {
		return nil
	}
	index, _ := revocation["statusListIndex"].(string)
	sibling := base + "/" + status.PurposeSuspension
	return map[string]any{"id": sibling + "#" + index, "type": "BitstringStatusListEntry",
		"statusPurpose": status.PurposeSuspension, "statusListIndex": index, "statusListCredential": sibling}
}

// allocateSlot picks a random free index in the issuer's open list,
// opening a new list when the open one is full enough. Uniqueness is
// finally enforced by the database (credentials_status): the caller
// retries with a new slot when the insert conflicts.
func (s *Service) allocateSlot(ctx context.Context, issuerID string) (statusSlot, error) {
	db := s.db.WithContext(ctx)
	list, used, ok := s.listUse.get(issuerID, s.now())
	if !ok {
		err := db.Where("issuer_id = ?", issuerID).Order("created_at DESC, id").First(&list).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			used = math.MaxInt64 // none yet: open one
		case err != nil:
			return statusSlot{}, fmt.Errorf("credential: status list: %w", err)
		default:
			if err := db.Model(&credentialRow{}).Where("status_list_id = ?", list.ID).Count(&used).Error; err != nil {
				return statusSlot{}, fmt.Errorf("credential: status list use: %w", err)
			}
		}
	}
	if float64(used) >= listFill*float64(list.Length) {
		list = statusListRow{ID: uuid.NewString(), IssuerID: issuerID, Length: status.MinEntries, CreatedAt: s.now().UTC()}
		if err := db.Create(&list).Error; err != nil {
			return statusSlot{}, fmt.Errorf("credential: new status list: %w", err)
		}
		used = 0
	}
	s.listUse.set(issuerID, list, used, s.now(), !ok)
	for range 64 {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(list.Length)))
		if err != nil {
			return statusSlot{}, err
		}
		i := int(n.Int64())
		var taken int64
		if err := db.Model(&credentialRow{}).Where("status_list_id = ? AND status_index = ?", list.ID, i).Count(&taken).Error; err != nil {
			return statusSlot{}, fmt.Errorf("credential: status index: %w", err)
		}
		if taken == 0 {
			s.listUse.add(issuerID, list.ID)
			return statusSlot{ListID: list.ID, Index: i}, nil
		}
	}
	return statusSlot{}, fmt.Errorf("credential: no free index found in status list %s", list.ID)
}

// listUse remembers each issuer's open list and how many of its entries
// were in use when last counted, plus those this process has drawn since:
// reading the list and counting its credentials on every issue would read
// every credential of the list. What other instances draw, and a list
// another instance opens, show at the next read, a minute later at most:
// a list fills a little past listFill at worst (by what the other
// instances issue in that minute), far from the point where drawing a
// free index gets slow.
type listUse struct {
	mu      sync.Mutex
	issuers map[string]openList
}

type openList struct {
	list   statusListRow
	used   int64
	readAt time.Time
}

// listReread is how long an issuer's open list and its count are trusted.
const listReread = time.Minute

func (u *listUse) get(issuerID string, now time.Time) (statusListRow, int64, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	o, ok := u.issuers[issuerID]
	if !ok || now.Sub(o.readAt) >= listReread || now.Before(o.readAt) {
		return statusListRow{}, 0, false
	}
	return o.list, o.used, true
}

// set records the issuer's open list; read says whether it was just read
// (and counted), which restarts the minute it is trusted for.
func (u *listUse) set(issuerID string, list statusListRow, used int64, now time.Time, read bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.issuers == nil {
		u.issuers = map[string]openList{}
	}
	o := u.issuers[issuerID]
	if read || o.list.ID != list.ID {
		o.readAt = now
	}
	o.list, o.used = list, used
	u.issuers[issuerID] = o
}

func (u *listUse) add(issuerID, listID string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if o, ok := u.issuers[issuerID]; ok && o.list.ID == listID {
		o.used++
		u.issuers[issuerID] = o
	}
}

// StatusListCredential returns the signed BitstringStatusListCredential of
// a list for purpose ("revocation" or "suspension"), as of now. It is
// built from the credentials' current state on every call, so a revocation
// or suspension is visible at once.
func (s *Service) StatusListCredential(ctx context.Context, listID, purpose string) (map[string]any, error) {
	if purpose != status.PurposeRevocation && purpose != status.PurposeSuspension {
		return nil, fmt.Errorf("%w: purpose %q", ErrUnknownStatusList, purpose)
	}
	if uuid.Validate(listID) != nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownStatusList, listID)
	}
	var list statusListRow
	if err := s.db.WithContext(ctx).First(&list, "id = ?", listID).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, fmt.Errorf("%w: %s", ErrUnknownStatusList, listID)
		}
		return nil, fmt.Errorf("credential: status list: %w", err)
	}
	column := "revoked_at"
	if purpose == status.PurposeSuspension {
		// A revoked credential stays revoked; suspension marks only those
		// suspended and not revoked, so the two lists never disagree.
		column = "suspended_at"
	}
	var set []int
	if err := s.db.WithContext(ctx).Model(&credentialRow{}).
		Where("status_list_id = ? AND "+column+" IS NOT NULL", listID).Pluck("status_index", &set).Error; err != nil {
		return nil, fmt.Errorf("credential: status bits: %w", err)
	}
	bits, err := status.NewList(list.Length)
	if err != nil {
		return nil, err
	}
	for _, i := range set {
		if err := bits.Set(i, true); err != nil {
			return nil, err
		}
	}
	// A list is signed once per content: verifiers ask for it far more often
	// than a decision changes it.
	slices.Sort(set)
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%s/%v", listID, purpose, set))
	if b, ok := s.signedLists.Load(sum); ok {
		var doc map[string]any
		if err := json.Unmarshal(b.([]byte), &doc); err == nil {
			return doc, nil
		}
	}
	encoded, err := bits.Encode()
	if err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Second)
	url := s.StatusListURL(listID, purpose)
	doc := status.ListCredential(url, s.IssuerURL(list.IssuerID), purpose, encoded, now, time.Time{})
	vm := proof.VerificationMethodID(s.IssuerURL(list.IssuerID), s.key.Public().(ed25519.PublicKey))
	signed, err := proof.Sign(doc, s.key, vm, now)
	if err != nil {
		return nil, fmt.Errorf("credential: sign status list: %w", err)
	}
	if b, err := json.Marshal(signed); err == nil {
		s.signedLists.Store(sum, b)
	}
	return signed, nil
}

// parseStatusListURL splits one of this service's status list URLs into
// its list id and purpose.
func (s *Service) parseStatusListURL(u string) (listID, purpose string, ok bool) {
	rest, found := strings.CutPrefix(u, s.baseURL+"/status-lists/")
	if !found {
		return "", "", false
	}
	listID, purpose, ok = strings.Cut(rest, "/")
	return listID, purpose, ok && !strings.Contains(purpose, "/")
}
