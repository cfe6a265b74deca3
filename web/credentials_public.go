package web

// Credentials as the world sees them: the issuer's public documents (keys,
// DID, status lists, the extension's context and schema, badge images), the
// public credential page with its downloads, the holder's visibility
// switch, staff decisions (revoke, suspend, reinstate) and verification of
// an uploaded credential.
//
// Privacy: a credential is private unless its recipient makes it public.
// Everyone sees its verification status, achievement, issuer and dates;
// the score, the standard's figures, the evidence and the signed document
// itself only the recipient, staff (admin, program manager,
// psychometrician) and, when it is public, anyone.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/credential"
	"github.com/touchstone-assess/touchstone/credential/baked"
	"github.com/touchstone-assess/touchstone/credential/proof"
	"github.com/touchstone-assess/touchstone/credential/schema"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/web/auth"
)

// Media types of the documents served here.
const (
	mimeVCLD       = "application/vc+ld+json"
	mimeDIDLD      = "application/did+ld+json"
	mimeJWK        = "application/jwk+json"
	mimeJWKSet     = "application/jwk-set+json"
	mimeLD         = "application/ld+json"
	mimeSchema     = "application/schema+json"
	mimeJWT        = "application/jwt"
	mimePNG        = "image/png"
	mimeSVG        = "image/svg+xml"
	cacheDocuments = "public, max-age=300"   // keys and profiles: rotation shows within minutes
	cacheStatic    = "public, max-age=86400" // the extension's context and schema change with a new version only
	cacheBadges    = "public, max-age=300"   // a manager's redesign shows within minutes; ETag saves the bytes
	cachePrivate   = "private, no-cache"     // depends on who asks and on the holder's visibility choice
	verifyOverhead = 64 << 10                // room for a multipart envelope around a MaxVerifyBytes file
	maxVerifyBody  = credential.MaxVerifyBytes + verifyOverhead
)

// credentialStaff may read every credential, public or not.
var credentialStaff = []auth.Role{auth.Admin, auth.ProgramManager, auth.Psychometrician}

// Public documents.

// sendDocument answers with doc as JSON labelled mediaType, or as
// application/json when the client prefers that in Accept. Public
// documents allow any origin: browser-based verifiers fetch them.
func sendDocument(c *fiber.Ctx, doc any, mediaType, cache string) error {
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("web: encode %s: %w", mediaType, err)
	}
	return sendBytes(c, b, mediaType, cache)
}

func sendBytes(c *fiber.Ctx, b []byte, mediaType, cache string) error {
	ct := mediaType
	if c.Accepts(mediaType, fiber.MIMEApplicationJSON) == fiber.MIMEApplicationJSON {
		ct = fiber.MIMEApplicationJSON
	}
	c.Set(fiber.HeaderContentType, ct)
	c.Set(fiber.HeaderCacheControl, cache)
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	c.Vary(fiber.HeaderAccept)
	return c.Send(b)
}

// issuerDocument serves the issuer's profile and controller document: the
// Data Integrity verification methods resolve here.
func (s *Server) issuerDocument(c *fiber.Ctx) error {
	doc, err := s.cfg.Credentials.ControllerDocument(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	profile, err := s.cfg.Credentials.Issuer(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	doc["name"] = profile.Name
	return sendDocument(c, doc, mimeDIDLD, cacheDocuments)
}

// issuerJWKS serves every public key of the issuer, current and retired,
// as a JSON Web Key Set.
func (s *Server) issuerJWKS(c *fiber.Ctx) error {
	set, err := s.cfg.Credentials.JWKS(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return sendDocument(c, set, mimeJWKSet, cacheDocuments)
}

// issuerKey serves one key as a bare JWK: what a VC-JWT's kid names.
func (s *Server) issuerKey(c *fiber.Ctx) error {
	kid, err := url.PathUnescape(c.Params("kid"))
	if err != nil {
		return &badRequest{field: "kid", message: "is not a key id"}
	}
	jwk, err := s.cfg.Credentials.JWK(c.UserContext(), c.Params("id"), kid)
	if err != nil {
		return err
	}
	return sendDocument(c, jwk, mimeJWK, cacheDocuments)
}

// didDocument serves the deployment's did:web document.
func (s *Server) didDocument(c *fiber.Ctx) error {
	doc, err := s.cfg.Credentials.DIDDocument(c.UserContext(), s.cfg.IssuerID)
	if err != nil {
		return err
	}
	return sendDocument(c, doc, mimeDIDLD, cacheDocuments)
}

// statusList serves a signed status list credential. It must never be
// cached: a revocation has to be visible to the next verifier.
func (s *Server) statusList(c *fiber.Ctx) error {
	doc, err := s.cfg.Credentials.StatusListCredential(c.UserContext(), c.Params("id"), c.Params("purpose"))
	if err != nil {
		return err
	}
	return sendDocument(c, doc, mimeVCLD, "no-cache")
}

// extensionContext serves Touchstone's JSON-LD context, the embedded file
// that signing and verification use, so what is published is what is
// signed against.
func (s *Server) extensionContext(c *fiber.Ctx) error {
	name := proof.ContextTouchstoneV1File
	b, err := fs.ReadFile(proof.ContextFiles(), name)
	if err != nil {
		return fmt.Errorf("web: context %s: %w", name, err)
	}
	return sendBytes(c, b, mimeLD, cacheStatic)
}

// extensionSchema serves the JSON Schema of Touchstone's extension.
func (s *Server) extensionSchema(c *fiber.Ctx) error {
	return sendBytes(c, schema.TouchstoneV1(), mimeSchema, cacheStatic)
}

// achievementBadge draws an achievement's badge: SVG, or PNG of ?size
// pixels (512 by default). Drawing costs; the ETag, a hash of the design
// and size, lets caches revalidate for nothing.
func (s *Server) achievementBadge(c *fiber.Ctx) error {
	ctx := c.UserContext()
	a, err := s.cfg.Credentials.AchievementBySlug(ctx, c.Params("slug"))
	if err != nil {
		return err
	}
	format, size := credential.SVG, 0
	if strings.HasSuffix(c.Path(), ".png") {
		format = credential.PNG
		if size, err = badgeSize(c.Query("size")); err != nil {
			return err
		}
	}
	d := s.cfg.Credentials.Design(ctx, a)
	sum := sha256.Sum256(fmt.Appendf(nil, "%s|%d|%q|%q|%q|%q", format, size, d.Title, d.Level, d.Issuer, d.Color))
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	c.Set(fiber.HeaderETag, etag)
	c.Set(fiber.HeaderCacheControl, cacheBadges)
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	if match := c.Get(fiber.HeaderIfNoneMatch); match != "" && strings.Contains(match, etag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	var img []byte
	if format == credential.PNG {
		img, err = baked.RenderPNG(d, size)
		c.Set(fiber.HeaderContentType, mimePNG)
	} else {
		img, err = baked.RenderSVG(d)
		c.Set(fiber.HeaderContentType, mimeSVG)
	}
	if err != nil {
		return fmt.Errorf("web: badge of %s: %w", a.ID, err)
	}
	return c.Send(img)
}

// badgeSize reads ?size: empty means 512.
func badgeSize(q string) (int, error) {
	if q == "" {
		return 512, nil
	}
	n, err := strconv.Atoi(q)
	if err != nil || n < baked.MinPNGSize || n > baked.MaxPNGSize {
		return 0, &badRequest{field: "size", message: fmt.Sprintf("must be a whole number of pixels from %d to %d", baked.MinPNGSize, baked.MaxPNGSize)}
	}
	return n, nil
}

// Who may read what.

// credentialViewer is the signed-in user as one credential's visibility
// rules see them.
type credentialViewer struct {
	Recipient bool // holds the credential
	Staff     bool // may read every credential
	Revoker   bool // may revoke, suspend and reinstate
}

func viewerOf(c *fiber.Ctx, cred credential.Credential) credentialViewer {
	sess := session(c)
	if sess == nil {
		return credentialViewer{}
	}
	u := sess.User
	return credentialViewer{
		Recipient: u.ID == cred.RecipientID,
		Staff:     u.Has(credentialStaff...),
		Revoker:   u.Has(revokers...),
	}
}

// mayRead reports whether the viewer may see the signed document, the
// score and the evidence of cred.
func (v credentialViewer) mayRead(cred credential.Credential) bool {
	return cred.Public || v.Recipient || v.Staff
}

// readableCredential returns the credential of the route's :id if the
// caller may read it in full. Otherwise it answers not found, as for a
// credential that does not exist: a private credential's document is
// nobody else's business.
func (s *Server) readableCredential(c *fiber.Ctx) (credential.Credential, error) {
	cred, err := s.cfg.Credentials.Get(c.UserContext(), c.Params("id"))
	if err != nil {
		return credential.Credential{}, err
	}
	if !viewerOf(c, cred).mayRead(cred) {
		return credential.Credential{}, fmt.Errorf("%w: credential %s is private", credential.ErrNotFound, cred.ID)
	}
	return cred, nil
}

// The signed document and its downloads.

// apiCredential serves the signed credential, byte for byte as issued.
func (s *Server) apiCredential(c *fiber.Ctx) error {
	cred, err := s.readableCredential(c)
	if err != nil {
		return err
	}
	return sendBytes(c, cred.Document, mimeVCLD, cachePrivate)
}

// downloadName is the file name of a download: the achievement's slug and
// the start of the credential's id (a renewal gets a different name).
func (s *Server) downloadName(ctx context.Context, cred credential.Credential, ext string) string {
	name := "credential"
	if rec, err := s.cfg.Credentials.AchievementRecordByID(ctx, cred.AchievementID); err == nil {
		name = rec.Slug
	}
	return name + "-" + strings.SplitN(cred.ID, "-", 2)[0] + ext
}

// sendDownload answers with b as an attachment.
func (s *Server) sendDownload(c *fiber.Ctx, cred credential.Credential, b []byte, mediaType, ext string) error {
	c.Set(fiber.HeaderContentType, mediaType)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+s.downloadName(c.UserContext(), cred, ext)+`"`)
	c.Set(fiber.HeaderCacheControl, cachePrivate)
	return c.Send(b)
}

func (s *Server) downloadCredentialJSON(c *fiber.Ctx) error {
	cred, err := s.readableCredential(c)
	if err != nil {
		return err
	}
	return s.sendDownload(c, cred, cred.Document, mimeVCLD, ".json")
}

// jwtAlg reads ?alg: EdDSA by default, or RS256.
func jwtAlg(c *fiber.Ctx) (string, error) {
	switch alg := c.Query("alg", credential.EdDSA); alg {
	case credential.EdDSA, credential.RS256:
		return alg, nil
	}
	return "", &badRequest{field: "alg", message: "must be EdDSA or RS256"}
}

// downloadCredentialJWT signs the credential as a VC-JWT now.
func (s *Server) downloadCredentialJWT(c *fiber.Ctx) error {
	alg, err := jwtAlg(c)
	if err != nil {
		return err
	}
	cred, err := s.readableCredential(c)
	if err != nil {
		return err
	}
	token, err := s.cfg.Credentials.JWT(c.UserContext(), cred, alg)
	if err != nil {
		return err
	}
	return s.sendDownload(c, cred, []byte(token), mimeJWT, ".jwt")
}

// downloadBadge bakes the credential into its badge image: the JSON
// credential, or with ?proof=jwt a VC-JWT (EdDSA, or ?alg=RS256).
func (s *Server) downloadBadge(c *fiber.Ctx) error {
	format, mediaType, ext := credential.SVG, mimeSVG, ".svg"
	if strings.HasSuffix(c.Path(), ".png") {
		format, mediaType, ext = credential.PNG, mimePNG, ".png"
	}
	alg := ""
	switch c.Query("proof") {
	case "", "json":
	case "jwt":
		var err error
		if alg, err = jwtAlg(c); err != nil {
			return err
		}
	default:
		return &badRequest{field: "proof", message: "must be json or jwt"}
	}
	cred, err := s.readableCredential(c)
	if err != nil {
		return err
	}
	img, err := s.cfg.Credentials.Baked(c.UserContext(), cred, format, alg)
	if err != nil {
		return err
	}
	return s.sendDownload(c, cred, img, mediaType, ext)
}

// Visibility.

// visibilityRequest is the body of PUT /api/v1/credentials/:id/visibility.
type visibilityRequest struct {
	Public *bool `json:"public"`
}

func (s *Server) apiSetCredentialVisibility(c *fiber.Ctx) error {
	var req visibilityRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	if req.Public == nil {
		return valid.Errorf("public", "is required: true or false")
	}
	if err := s.cfg.Credentials.SetPublic(c.UserContext(), currentUser(c).ID, c.Params("id"), *req.Public); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"id": c.Params("id"), "public": *req.Public})
}

// postCredentialVisibility is the holder's public/private switch (the
// credential page's and the wallet's form: public = "true" or "false").
// It returns to next, a path on this site, or to the credential page.
func (s *Server) postCredentialVisibility(c *fiber.Ctx) error {
	public, err := strconv.ParseBool(c.FormValue("public"))
	if err != nil {
		return valid.Errorf("public", "must be true or false")
	}
	id := c.Params("id")
	if err := s.cfg.Credentials.SetPublic(c.UserContext(), currentUser(c).ID, id, public); err != nil {
		return err
	}
	next := "/credentials/" + id + "#visibility"
	if n := c.FormValue("next"); n != "" {
		next = localPath(n)
	}
	return c.Redirect(next, fiber.StatusSeeOther)
}

// Staff decisions.

// Status decisions on a credential, as the routes name them.
const (
	decideRevoke    = "revoke"
	decideSuspend   = "suspend"
	decideReinstate = "reinstate"
)

// decide applies a staff decision, audited with the actor and reason.
func (s *Server) decide(ctx context.Context, decision, actor, id, reason string) error {
	switch decision {
	case decideRevoke:
		return s.cfg.Credentials.Revoke(ctx, actor, id, reason)
	case decideSuspend:
		return s.cfg.Credentials.Suspend(ctx, actor, id, reason)
	case decideReinstate:
		return s.cfg.Credentials.Reinstate(ctx, actor, id, reason)
	}
	return fmt.Errorf("web: unknown decision %q", decision)
}

// reasonRequest is the body of the API's revoke, suspend and reinstate.
type reasonRequest struct {
	Reason string `json:"reason"`
}

func (s *Server) apiRevokeCredential(c *fiber.Ctx) error {
	var req reasonRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	if err := s.decide(c.UserContext(), decideRevoke, currentUser(c).ID, c.Params("id"), req.Reason); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"id": c.Params("id"), "revoked": true})
}

func (s *Server) apiSuspendCredential(c *fiber.Ctx) error {
	return s.apiDecide(c, decideSuspend)
}

func (s *Server) apiReinstateCredential(c *fiber.Ctx) error {
	return s.apiDecide(c, decideReinstate)
}

// apiDecide applies decision and answers with the credential's new state.
func (s *Server) apiDecide(c *fiber.Ctx, decision string) error {
	var req reasonRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	ctx := c.UserContext()
	if err := s.decide(ctx, decision, currentUser(c).ID, c.Params("id"), req.Reason); err != nil {
		return err
	}
	cred, err := s.cfg.Credentials.Get(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"id": cred.ID, "state": cred.State(s.cfg.Now())})
}

// postDecision is the credential page's form for decision. A refusal the
// staff member can fix (no reason) shows the page again with the message
// at the form.
func (s *Server) postDecision(decision string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := c.Params("id")
		err := s.decide(c.UserContext(), decision, currentUser(c).ID, id, c.FormValue("reason"))
		var invalid *valid.Error
		if errors.As(err, &invalid) {
			d, perr := s.credentialPage(c)
			if perr != nil {
				return perr
			}
			d.FormError = &decisionError{Decision: decision, Field: invalid.Field, Message: invalid.Message}
			c.Status(fiber.StatusUnprocessableEntity)
			return s.render(c, "credential", d)
		}
		if err != nil {
			return err
		}
		return c.Redirect("/credentials/"+id+"#verification", fiber.StatusSeeOther)
	}
}

// The public credential page.

// credentialDoc is the part of a signed Open Badges 3.0 credential that
// the pages show.
type credentialDoc struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	ValidFrom  string `json:"validFrom"`
	ValidUntil string `json:"validUntil"`
	Issuer     struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		URL         string `json:"url"`
		Description string `json:"description"`
	} `json:"issuer"`
	CredentialSubject struct {
		Identifier []struct {
			IdentityType string `json:"identityType"`
			Hashed       bool   `json:"hashed"`
		} `json:"identifier"`
		Result []struct {
			Value string `json:"value"`
		} `json:"result"`
		Achievement     docAchievement `json:"achievement"`
		PassingStandard *docStandard   `json:"passingStandard"`
	} `json:"credentialSubject"`
	Evidence []docEvidence   `json:"evidence"`
	Proof    json.RawMessage `json:"proof"`
}

// UnmarshalJSON accepts an issuer given as a bare URL as well as a
// profile object, as verifiers meet both.
func (d *credentialDoc) UnmarshalJSON(b []byte) error {
	type plain credentialDoc
	var raw struct {
		plain
		Issuer json.RawMessage `json:"issuer"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*d = credentialDoc(raw.plain)
	if len(raw.Issuer) > 0 && raw.Issuer[0] == '"' {
		return json.Unmarshal(raw.Issuer, &d.Issuer.ID)
	}
	if len(raw.Issuer) > 0 {
		return json.Unmarshal(raw.Issuer, &d.Issuer)
	}
	return nil
}

type docAchievement struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	Description     string `json:"description"`
	AchievementType string `json:"achievementType"`
	Criteria        struct {
		Narrative string `json:"narrative"`
	} `json:"criteria"`
	Alignment         []docAlignment `json:"alignment"`
	ResultDescription []struct {
		RequiredValue string `json:"requiredValue"`
		ValueMax      string `json:"valueMax"`
	} `json:"resultDescription"`
}

type docAlignment struct {
	TargetName        string `json:"targetName"`
	TargetURL         string `json:"targetUrl"`
	TargetDescription string `json:"targetDescription"`
	TargetFramework   string `json:"targetFramework"`
	TargetCode        string `json:"targetCode"`
}

type docEvidence struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Narrative   string `json:"narrative"`
}

// docStandard is Touchstone's PassingStandard extension as signed: the
// figures are decimal strings.
type docStandard struct {
	ID                     string `json:"id"`
	Version                int    `json:"standardVersion"`
	Method                 string `json:"method"`
	Panelists              int    `json:"panelists"`
	ScoreScale             string `json:"scoreScale"`
	ScaleMin               string `json:"scaleMin"`
	ScaleMax               string `json:"scaleMax"`
	Cut                    string `json:"cutScore"`
	CutSE                  string `json:"cutStandardError"`
	Reliability            string `json:"reliability"`
	DecisionConsistency    string `json:"decisionConsistency"`
	ClassificationAccuracy string `json:"classificationAccuracy"`
	CSEMAtCut              string `json:"csemAtCut"`
	ApprovedDate           string `json:"approvedDate"`
	ApprovedBy             string `json:"approvedBy"`
}

// Facts describes the standard in plain sentences, one figure each, for a
// reader who is not a psychometrician.
func (st docStandard) Facts() []string {
	unit := "points"
	scale := fmt.Sprintf("on a scale from %s to %s points", st.ScaleMin, st.ScaleMax)
	if st.ScoreScale != "" {
		// Scale names often end in "scale" already ("Reporting scale").
		name := strings.TrimSuffix(strings.TrimSuffix(st.ScoreScale, " scale"), " Scale") + " scale"
		unit = "on the " + name
		scale = fmt.Sprintf("on the %s, which runs from %s to %s", name, st.ScaleMin, st.ScaleMax)
	}
	facts := []string{fmt.Sprintf("The pass mark is %s %s.", st.Cut, scale)}
	if st.Method != "" {
		f := "It was set by a " + st.Method + " standard-setting study"
		if st.Panelists > 0 {
			f += fmt.Sprintf(" with %d panelists", st.Panelists)
		}
		facts = append(facts, f+".")
	}
	if st.CutSE != "" {
		facts = append(facts, fmt.Sprintf("The standard error of the pass mark is %s %s: how much it could move if the study were repeated.", st.CutSE, unit))
	}
	if st.Reliability != "" {
		facts = append(facts, fmt.Sprintf("The exam’s reliability is %s, on a scale from 0 to 1 where higher means more consistent scores.", st.Reliability))
	}
	if st.DecisionConsistency != "" {
		facts = append(facts, fmt.Sprintf("Decision consistency is %s: the estimated share of candidates who would get the same pass or fail decision on a second sitting.", st.DecisionConsistency))
	}
	if st.ClassificationAccuracy != "" {
		facts = append(facts, fmt.Sprintf("Classification accuracy is %s: the estimated share of pass and fail decisions that match the candidates’ true standing.", st.ClassificationAccuracy))
	}
	if st.CSEMAtCut != "" {
		facts = append(facts, fmt.Sprintf("The measurement error of a score at the pass mark is %s %s.", st.CSEMAtCut, unit))
	}
	if t, err := time.Parse(time.RFC3339, st.ApprovedDate); err == nil {
		f := fmt.Sprintf("Version %d of this standard was approved on %s", st.Version, t.UTC().Format("2 January 2006"))
		if st.ApprovedBy != "" {
			f += " by " + st.ApprovedBy
		}
		facts = append(facts, f+".")
	}
	return facts
}

type docProof struct {
	Type               string `json:"type"`
	Cryptosuite        string `json:"cryptosuite"`
	VerificationMethod string `json:"verificationMethod"`
	Created            string `json:"created"`
}

// statusView is a verification state in words, for the banner of the
// credential page and the verification report.
type statusView struct {
	State   string // a credential.State… constant
	Heading string
	Detail  string
}

// Class is the banner's CSS modifier.
func (v statusView) Class() string { return "is-" + strings.ReplaceAll(v.State, " ", "-") }

// describeState puts a verification in words. cred, when known (the
// credential is one of ours), adds the dates and reasons of the issuer's
// decisions; doc gives the expiry otherwise.
func describeState(v credential.Verification, cred *credential.Credential, doc credentialDoc) statusView {
	out := statusView{State: v.State}
	on := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return " on " + t.UTC().Format("2 January 2006")
	}
	because := func(reason string) string {
		if reason == "" {
			return "."
		}
		return ": " + strings.TrimRight(reason, ".") + "."
	}
	switch v.State {
	case credential.StateValid:
		out.Heading = "Valid credential"
		out.Detail = "The issuer’s signature checks out, and the credential is neither revoked, suspended nor expired. Checked just now against the issuer’s published keys and status lists."
	case credential.StateRevoked:
		out.Heading = "Revoked credential"
		out.Detail = "The signature is genuine, but the issuer revoked this credential"
		if cred != nil {
			out.Detail += on(cred.RevokedAt) + because(cred.RevocationReason)
		} else {
			out.Detail += "."
		}
		out.Detail += " It no longer attests the achievement."
	case credential.StateSuspended:
		out.Heading = "Suspended credential"
		out.Detail = "The issuer suspended this credential"
		if cred != nil {
			out.Detail += on(cred.SuspendedAt) + because(cred.SuspensionReason)
		} else {
			out.Detail += "."
		}
		out.Detail += " While suspended it does not attest the achievement; the issuer may reinstate it."
	case credential.StateExpired:
		out.Heading = "Expired credential"
		until := doc.ValidUntil
		if t, err := time.Parse(time.RFC3339, until); err == nil {
			until = t.UTC().Format("2 January 2006")
		}
		if cred != nil && cred.ValidUntil != nil {
			until = cred.ValidUntil.UTC().Format("2 January 2006")
		}
		out.Detail = "This credential expired on " + until + ". The signature is genuine and it attested the achievement until then."
	case credential.StateNotYetValid:
		out.Heading = "Not yet valid"
		out.Detail = "The signature is genuine, but the credential is valid only from " + doc.ValidFrom + "."
	default:
		out.State = credential.StateInvalid
		out.Heading = "Invalid credential"
		out.Detail = "This credential could not be verified, so its contents can’t be trusted."
		if v.Problem != "" {
			out.Detail += " Reason: " + strings.TrimRight(v.Problem, ".") + "."
		}
	}
	return out
}

// decisionError is a refused staff decision, shown at its form.
type decisionError struct {
	Decision, Field, Message string
}

// credentialData is the view of the credential page.
type credentialData struct {
	Credential credential.Credential
	Doc        credentialDoc
	Status     statusView
	Viewer     credentialViewer
	Details    bool // the viewer may see the score, the standard and the evidence
	Slug       string
	Image      string // absolute URL of the badge PNG, for link previews
	Criteria   template.HTML
	// The result and the standard behind it.
	Score, Required, Max string
	Standard             *docEvidence // the evidence entry that describes the standard
	StandardFacts        []string
	Evidence             []docEvidence
	Proof                docProof
	Renews               *credential.Credential // the credential this one renews, when known
	RenewsID             string
	LinkedIn             string // the "Add to profile" link, for the holder of a public credential
	FormError            *decisionError
	CSRF                 string // for the staff forms, rendered from a partial
	Link                 func(string) string
}

// decisionForm is the view of one staff decision's form.
type decisionForm struct {
	ID, Decision, Label, Help, Button, CSRF string
	Error                                   string // why the last submission was refused
}

// DecisionForm returns the view of the form for decision.
func (d credentialData) DecisionForm(decision, label, help, button string) decisionForm {
	f := decisionForm{ID: d.Credential.ID, Decision: decision, Label: label, Help: help, Button: button, CSRF: d.CSRF}
	if e := d.FormError; e != nil && e.Decision == decision {
		f.Error = e.Message
	}
	return f
}

// Kind is the achievement type in words, "Badge" by default.
func (d credentialData) Kind() string {
	if t := d.Doc.CredentialSubject.Achievement.AchievementType; t != "" {
		return t
	}
	return "Badge"
}

// Hashed reports whether the recipient is identified by a hashed email.
func (d credentialData) Hashed() bool {
	for _, id := range d.Doc.CredentialSubject.Identifier {
		if id.Hashed && id.IdentityType == "emailAddress" {
			return true
		}
	}
	return false
}

// IssuerDocument is where the issuer's keys are published: the controller
// of the proof's verification method.
func (d credentialData) IssuerDocument() string {
	controller, _, _ := strings.Cut(d.Proof.VerificationMethod, "#")
	return controller
}

// Suspended and Revoked tell the staff forms which decisions apply.
func (d credentialData) Suspended() bool { return d.Credential.SuspendedAt != nil }
func (d credentialData) Revoked() bool   { return d.Credential.RevokedAt != nil }

func (s *Server) pageCredential(c *fiber.Ctx) error {
	d, err := s.credentialPage(c)
	if err != nil {
		return err
	}
	return s.render(c, "credential", d)
}

// credentialPage gathers the credential page of the route's :id for the
// caller.
func (s *Server) credentialPage(c *fiber.Ctx) (credentialData, error) {
	ctx := c.UserContext()
	cred, err := s.cfg.Credentials.Get(ctx, c.Params("id"))
	if err != nil {
		return credentialData{}, err
	}
	d := credentialData{Credential: cred, Viewer: viewerOf(c, cred), Link: s.link, CSRF: s.csrfToken(c)}
	d.Details = d.Viewer.mayRead(cred)
	if err := json.Unmarshal(cred.Document, &d.Doc); err != nil {
		return credentialData{}, fmt.Errorf("web: credential %s: %w", cred.ID, err)
	}
	d.Status = describeState(s.cfg.Credentials.Verify(ctx, cred), &cred, d.Doc)
	rec, err := s.cfg.Credentials.AchievementRecordByID(ctx, cred.AchievementID)
	if err != nil {
		return credentialData{}, err
	}
	d.Slug = rec.Slug
	d.Image = s.cfg.BaseURL + "/achievements/" + rec.Slug + "/badge.png"

	ach := d.Doc.CredentialSubject.Achievement
	d.Criteria = markdown(ach.Criteria.Narrative)
	if d.Details {
		if len(ach.ResultDescription) > 0 {
			d.Required, d.Max = ach.ResultDescription[0].RequiredValue, ach.ResultDescription[0].ValueMax
		}
		if len(d.Doc.CredentialSubject.Result) > 0 {
			d.Score = d.Doc.CredentialSubject.Result[0].Value
		}
		d.Evidence = d.Doc.Evidence
		if st := d.Doc.CredentialSubject.PassingStandard; st != nil {
			d.StandardFacts = st.Facts()
			// The first evidence of a scored credential describes its
			// standard: the facts above say it figure by figure.
			if len(d.Evidence) > 0 && d.Evidence[0].ID == st.ID {
				d.Standard, d.Evidence = &d.Evidence[0], d.Evidence[1:]
			}
		}
	}
	var proofs []docProof
	if err := json.Unmarshal(d.Doc.Proof, &proofs); err != nil {
		proofs = make([]docProof, 1)
		_ = json.Unmarshal(d.Doc.Proof, &proofs[0]) // a document without a proof shows none
	}
	if len(proofs) > 0 {
		d.Proof = proofs[0]
	}
	if cred.Supersedes != "" {
		d.RenewsID = cred.Supersedes
		if old, err := s.cfg.Credentials.Get(ctx, cred.Supersedes); err == nil {
			d.Renews = &old
		} else if !errors.Is(err, credential.ErrNotFound) {
			return credentialData{}, err
		}
	}
	if d.Viewer.Recipient && cred.Public {
		d.LinkedIn = linkedInURL(ach.Name, d.Doc.Issuer.Name, cred)
	}
	return d, nil
}

// linkedInURL is LinkedIn's "Add licence or certification" link for cred.
func linkedInURL(name, issuer string, cred credential.Credential) string {
	q := url.Values{}
	q.Set("startTask", "CERTIFICATION_NAME")
	q.Set("name", name)
	q.Set("organizationName", issuer)
	q.Set("issueYear", strconv.Itoa(cred.IssuedAt.UTC().Year()))
	q.Set("issueMonth", strconv.Itoa(int(cred.IssuedAt.UTC().Month())))
	if cred.ValidUntil != nil {
		q.Set("expirationYear", strconv.Itoa(cred.ValidUntil.UTC().Year()))
		q.Set("expirationMonth", strconv.Itoa(int(cred.ValidUntil.UTC().Month())))
	}
	q.Set("certUrl", cred.URL)
	q.Set("certId", cred.ID)
	return "https://www.linkedin.com/profile/add?" + q.Encode()
}

// Verification.

// verificationBody is a verification as the API answers it.
type verificationBody struct {
	ID string `json:"id,omitempty"` // the credential on this server, when one was named
	credential.Verification
	VerifiedAt time.Time `json:"verified_at"`
}

// apiVerifyCredential verifies one of this server's credentials. Everyone
// may learn its standing; the document comes with it only for those who
// may read it.
func (s *Server) apiVerifyCredential(c *fiber.Ctx) error {
	cred, err := s.cfg.Credentials.Get(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	v := s.cfg.Credentials.Verify(c.UserContext(), cred)
	if !viewerOf(c, cred).mayRead(cred) {
		v.Credential = nil
	}
	return s.sendVerification(c, cred.ID, v)
}

// sendVerification answers with v; id names the credential when the
// request did.
func (s *Server) sendVerification(c *fiber.Ctx, id string, v credential.Verification) error {
	if v.Checks == nil {
		v.Checks = []credential.Check{} // a list, even when empty
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(verificationBody{ID: id, Verification: v, VerifiedAt: s.cfg.Now().UTC()})
}

// verifyInput reads what a verifier uploads: the multipart field "file"
// (or, from the page, the pasted "text"), or else the raw body. It
// answers 413 for a file over credential.MaxVerifyBytes.
func verifyInput(c *fiber.Ctx) ([]byte, error) {
	if !strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEMultipartForm) &&
		!strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationForm) {
		if len(c.Body()) > credential.MaxVerifyBytes {
			return nil, &tooLarge{field: "file", limit: credential.MaxVerifyBytes}
		}
		return c.Body(), nil
	}
	if fh, err := c.FormFile("file"); err == nil && fh.Size > 0 {
		if fh.Size > credential.MaxVerifyBytes {
			return nil, &tooLarge{field: "file", limit: credential.MaxVerifyBytes}
		}
		f, err := fh.Open()
		if err != nil {
			return nil, fmt.Errorf("web: open upload: %w", err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, credential.MaxVerifyBytes+1))
		if err != nil {
			return nil, fmt.Errorf("web: read upload: %w", err)
		}
		return b, nil
	}
	return []byte(c.FormValue("text")), nil
}

// apiVerify verifies an uploaded credential in any format. The answer
// includes the credential: it is the uploader's own file.
func (s *Server) apiVerify(c *fiber.Ctx) error {
	if err := s.allowVerify(c); err != nil {
		return err
	}
	input, err := verifyInput(c)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(input)) == 0 {
		return &badRequest{field: "file", message: "send the credential as the body or as the multipart field file"}
	}
	return s.sendVerification(c, "", s.cfg.Credentials.VerifyInput(c.UserContext(), input))
}

// Verifications a client address may ask for per window: a verification
// costs the server milliseconds of canonicalization, so anonymous uploads
// are bounded.
const (
	verifyLimit  = 120
	verifyWindow = 10 * time.Minute
)

func (s *Server) allowVerify(c *fiber.Ctx) error {
	return s.cfg.Auth.Allow(c.UserContext(), "verify", c.IP(), verifyLimit, verifyWindow)
}

// verifyData is the view of the verification page.
type verifyData struct {
	Error  string
	Report *verifyReport
}

// verifyReport is an uploaded credential's verification in words.
type verifyReport struct {
	V      credential.Verification
	Status statusView
	Doc    credentialDoc
	Page   string // the credential's page on this site, when it is ours
	Slug   string // its achievement's slug, when it is ours: the badge image
}

// ValidFrom and ValidUntil are the credential's dates in words ("" for
// none); a date that does not parse is shown as it is.
func (r verifyReport) ValidFrom() string  { return humanDate(r.Doc.ValidFrom) }
func (r verifyReport) ValidUntil() string { return humanDate(r.Doc.ValidUntil) }

func humanDate(s string) string {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC().Format("2 January 2006")
	}
	return s
}

// FormatName is the uploaded format in words.
func (r verifyReport) FormatName() string {
	switch r.V.Format {
	case "json":
		return "JSON credential (Data Integrity proof)"
	case "jwt":
		return "VC-JWT"
	case "png":
		return "PNG badge image"
	case "svg":
		return "SVG badge image"
	}
	return "unknown"
}

func (s *Server) pageVerify(c *fiber.Ctx) error {
	return s.render(c, "verify", verifyData{})
}

// postVerify verifies the uploaded file or pasted text and shows the
// report.
func (s *Server) postVerify(c *fiber.Ctx) error {
	if err := s.allowVerify(c); err != nil {
		return err
	}
	input, err := verifyInput(c)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(input)) == 0 {
		c.Status(fiber.StatusUnprocessableEntity)
		return s.render(c, "verify", verifyData{Error: "Choose a file, or paste the credential, before verifying."})
	}
	ctx := c.UserContext()
	v := s.cfg.Credentials.VerifyInput(ctx, input)
	r := &verifyReport{V: v}
	if v.Credential != nil {
		if b, err := json.Marshal(v.Credential); err == nil {
			_ = json.Unmarshal(b, &r.Doc) // a document of another shape shows fewer facts
		}
	}
	var ours *credential.Credential
	if id, ok := strings.CutPrefix(r.Doc.ID, s.cfg.BaseURL+"/credentials/"); ok && s.cfg.BaseURL != "" {
		if cred, err := s.cfg.Credentials.Get(ctx, id); err == nil {
			ours, r.Page = &cred, "/credentials/"+cred.ID
			if rec, err := s.cfg.Credentials.AchievementRecordByID(ctx, cred.AchievementID); err == nil {
				r.Slug = rec.Slug
			}
		}
	}
	r.Status = describeState(v, ours, r.Doc)
	return s.render(c, "verify", verifyData{Report: r})
}
