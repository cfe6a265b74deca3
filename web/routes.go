package web

import (
	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/assess/proctor"
	"github.com/touchstone-assess/touchstone/web/auth"
)

// route is one endpoint: its method, path, the roles that may call it (nil
// for anyone, signedIn for any signed-in user) and its handler.
type route struct {
	Method  string
	Path    string
	Roles   []auth.Role
	Handler fiber.Handler
}

// Role sets used by several routes.
var (
	analysts = []auth.Role{auth.Admin, auth.ProgramManager, auth.Psychometrician}
	authors  = []auth.Role{auth.Admin, auth.Author}
	proctors = []auth.Role{auth.Admin, auth.Proctor}
	managers = []auth.Role{auth.ProgramManager}
	revokers = []auth.Role{auth.Admin, auth.ProgramManager}
	admins   = []auth.Role{auth.Admin}
)

// bodyBound is the largest body a route takes, and the field a refusal
// names.
type bodyBound struct {
	bytes int
	field string
}

// uploads are the routes that take a file larger than a JSON body; every
// other route refuses a body over maxBodyBytes. A body over its bound is
// refused with 413 before the handler runs, so nothing of it is stored.
var uploads = map[string]bodyBound{
	// A QTI package or CSV bank: the raw body of the API, a multipart
	// field of the page.
	"POST /api/v1/items/import":    {maxImportBytes, "file"},
	"POST /authoring/items/import": {maxImportBytes, "file"},
	"POST /api/v1/verify":          {maxVerifyBody, "file"},
	"POST /verify":                 {maxVerifyBody, "file"},
	// A webcam frame is raw image bytes, bounded as every proctoring image.
	"POST /api/v1/attempts/:id/snapshots": {proctor.MaxImageBytes, "image"},
	// A check-in photo: the image itself is the body.
	"POST /api/v1/checkins/:id/photos": {proctor.MaxImageBytes, "image"},
}

// sideEffectFree are POST routes that change nothing: they compute an
// answer from the body alone, so a forged cross-site request gains nothing
// and the guard skips the CSRF check. A verifier can post a badge with
// curl, with no session and no cookie.
var sideEffectFree = map[string]bool{
	"POST /api/v1/verify": true,
}

// maxBodyBytes bounds the body of every route not in uploads.
const maxBodyBytes = 1 << 20

// bodyLimit is the largest body route r takes.
func bodyLimit(r route) bodyBound {
	if b, ok := uploads[r.Method+" "+r.Path]; ok {
		return b
	}
	return bodyBound{maxBodyBytes, "body"}
}

// routes is every endpoint of the server, in one list.
func (s *Server) routes() []route {
	get, post, put, del := fiber.MethodGet, fiber.MethodPost, fiber.MethodPut, fiber.MethodDelete
	return []route{
		// Operations.
		{get, "/healthz", nil, s.healthz},
		{get, "/readyz", nil, s.readyz},

		// Public pages and documents.
		{get, "/", nil, s.pageHome},
		{get, "/login", nil, s.pageLogin},
		{post, "/login", nil, s.postLogin},
		{post, "/logout", signedIn, s.postLogout},
		{get, "/credentials/:id", nil, s.pageCredential},
		{get, "/achievements/:slug", nil, s.pageAchievement},
		{get, "/issuers/:id", nil, s.issuerDocument},

		// Public credential documents, downloads and verification.
		{get, "/issuers/:id/jwks.json", nil, s.issuerJWKS},
		{get, "/issuers/:id/keys/:kid", nil, s.issuerKey},
		{get, "/.well-known/did.json", nil, s.didDocument},
		{get, "/status-lists/:id/:purpose", nil, s.statusList},
		{get, "/ns/v1/context.jsonld", nil, s.extensionContext},
		{get, "/ns/v1/schema.json", nil, s.extensionSchema},

		// Proctoring: the face-check library and its models, served to
		// candidates' browsers so that nothing is fetched from elsewhere.
		{get, "/static/proctoring/manifest.json", nil, s.proctoringManifest},
		{get, "/static/proctoring/:version/*", nil, s.proctoringAsset},
		{get, "/achievements/:slug/badge.svg", nil, s.achievementBadge},
		{get, "/achievements/:slug/badge.png", nil, s.achievementBadge},
		{get, "/credentials/:id/credential.json", nil, s.downloadCredentialJSON},
		{get, "/credentials/:id/credential.jwt", nil, s.downloadCredentialJWT},
		{get, "/credentials/:id/badge.png", nil, s.downloadBadge},
		{get, "/credentials/:id/badge.svg", nil, s.downloadBadge},
		{post, "/credentials/:id/visibility", signedIn, s.postCredentialVisibility},
		{post, "/credentials/:id/revoke", revokers, s.postDecision(decideRevoke)},
		{post, "/credentials/:id/suspend", revokers, s.postDecision(decideSuspend)},
		{post, "/credentials/:id/reinstate", revokers, s.postDecision(decideReinstate)},
		{get, "/verify", nil, s.pageVerify},
		{post, "/verify", nil, s.postVerify},

		// Candidates.
		{get, "/exams", signedIn, s.pageExams},
		{post, "/exams/:id/start", []auth.Role{auth.Candidate}, s.postStartExam},
		{get, "/exams/:id/checkin", []auth.Role{auth.Candidate}, s.pageCheckin},
		{get, "/attempts/:id", signedIn, s.pageAttempt},
		{get, "/attempts/:id/result", signedIn, s.pageResult},
		{get, "/badges", signedIn, s.pageBadges},

		// Staff pages.
		{get, "/proctor", proctors, s.pageProctor},
		{get, "/proctor/attempts/:id", proctors, s.pageProctorAttempt},
		{post, "/proctor/attempts/:id/hold", proctors, s.postControl(holdAction)},
		{post, "/proctor/attempts/:id/resume", proctors, s.postControl(resumeAction)},
		{post, "/proctor/attempts/:id/time", proctors, s.postControl(addTimeAction)},
		{post, "/proctor/attempts/:id/terminate", proctors, s.postControl(terminateAction)},
		{post, "/proctor/attempts/:id/messages", proctors, s.postControl(messageAction)},
		{get, "/proctor/reviews", proctors, s.pageReviews},
		{get, "/proctor/admissions", proctors, s.pageAdmissions},
		{post, "/proctor/checkins/:id/admit", proctors, s.postAdmitCheckin},
		{post, "/proctor/checkins/:id/reject", proctors, s.postRejectCheckin},
		{get, "/proctor/exams/:id/forensics", proctors, s.pageForensics},
		{get, "/proctor/exams/:id/forensics.csv", proctors, s.forensicsCSV},
		{post, "/proctor/attempts/:id/review", proctors, s.postOpenReview},
		{post, "/proctor/attempts/:id/review/decision", proctors, s.postReviewDecision},
		{get, "/standards/exams/:id", analysts, s.pageStandards},
		{post, "/standards/:id/approve", managers, s.postApproveStandard},
		{get, "/manage/exams/new", managers, s.pageNewExam},
		{post, "/manage/exams", managers, s.postNewExam},
		{get, "/manage/exams/:id", revokers, s.pageExamSettings},
		{post, "/manage/exams/:id/policy", managers, s.postExamPolicy},
		{post, "/manage/exams/:id/accommodations", managers, s.postGrantAccommodation},
		{post, "/manage/exams/:id/accommodations/:candidateId/remove", managers, s.postRemoveAccommodation},
		{post, "/manage/exams/:id/proctoring", managers, s.postExamProctoring},
		{post, "/manage/exams/:id/staff", managers, s.postAssignStaff},
		{post, "/manage/exams/:id/staff/:userId/remove", managers, s.postRemoveStaff},
		{post, "/manage/exams/:id/retention", managers, s.postRetention},
		{get, "/manage/achievements", managers, s.pageManageAchievements},
		{post, "/manage/achievements", managers, s.postNewAchievement},
		{get, "/manage/achievements/preview.svg", managers, s.previewSVG},
		{get, "/manage/achievements/:id", managers, s.pageEditAchievement},
		{post, "/manage/achievements/:id", managers, s.postEditAchievement},
		{post, "/manage/achievements/:id/pathways", managers, s.postAchievementPathway},
		{get, "/admin/audit", admins, s.pageAudit},

		// Standard-setting studies: program managers run them, panelists judge.
		{get, "/standards/exams/:id/studies/new", managers, s.pageNewStudy},
		{post, "/standards/exams/:id/studies", managers, s.postNewStudy},
		{get, "/studies/:id", analysts, s.pageStudy},
		{post, "/studies/:id/release", managers, s.postStudyStep(releaseStep)},
		{post, "/studies/:id/next-round", managers, s.postStudyStep(nextRoundStep)},
		{post, "/studies/:id/adopt", managers, s.postStudyStep(adoptStep)},
		{get, "/studies/:id/report", analysts, s.pageStudyReport},
		{get, "/studies/:id/report.pdf", analysts, s.studyReportPDF},
		{get, "/panel", panelists, s.pagePanel},
		{get, "/panel/studies/:id", panelists, s.pagePanelStudy},
		{post, "/panel/studies/:id", panelists, s.postPanelWork},
		// Item-analysis workbench: the page, each item's page, and the
		// downloads of every table and plot (the filter's form, from and
		// to apply to each), including the files `touchstone psych` reads.
		{get, "/psychometrics/exams/:id", analysts, s.pageStatistics},
		{get, "/psychometrics/exams/:id/analysis.json", analysts, s.analysisJSON},
		{get, "/psychometrics/exams/:id/summary.csv", analysts, s.summaryTable},
		{get, "/psychometrics/exams/:id/summary.json", analysts, s.summaryTable},
		{get, "/psychometrics/exams/:id/items.csv", analysts, s.itemsTable},
		{get, "/psychometrics/exams/:id/items.json", analysts, s.itemsTable},
		{get, "/psychometrics/exams/:id/responses.csv", analysts, s.responsesCSV},
		{get, "/psychometrics/exams/:id/choices.csv", analysts, s.choicesCSV},
		{get, "/psychometrics/exams/:id/key.csv", analysts, s.keyCSV},
		{get, "/psychometrics/exams/:id/scores.csv", analysts, s.scoresCSV},
		{get, "/psychometrics/exams/:id/score-distribution.svg", analysts, s.scoreDistribution},
		{get, "/psychometrics/exams/:id/score-distribution.png", analysts, s.scoreDistribution},
		{get, "/psychometrics/exams/:id/score-distribution.csv", analysts, s.scoreDistribution},
		{get, "/psychometrics/exams/:id/score-distribution.json", analysts, s.scoreDistribution},
		{get, "/psychometrics/exams/:id/items/:itemId", analysts, s.pageWorkbenchItem},
		{get, "/psychometrics/exams/:id/items/:itemId/options.csv", analysts, s.itemOptions},
		{get, "/psychometrics/exams/:id/items/:itemId/options.json", analysts, s.itemOptions},
		{get, "/psychometrics/exams/:id/items/:itemId/options.svg", analysts, s.itemOptions},
		{get, "/psychometrics/exams/:id/items/:itemId/options.png", analysts, s.itemOptions},
		{get, "/psychometrics/exams/:id/items/:itemId/option-groups.csv", analysts, s.itemOptions},
		{get, "/psychometrics/exams/:id/items/:itemId/option-groups.json", analysts, s.itemOptions},
		{get, "/api/v1/exams/:id/analysis", analysts, s.analysisJSON},
		// IRT calibration runs, DIF by voluntary demographics.
		{get, "/psychometrics/exams/:id/calibrations", analysts, s.pageCalibrations},
		{post, "/psychometrics/exams/:id/calibrations", analysts, s.postCalibration},
		{get, "/psychometrics/exams/:id/calibrations/runs.:format", analysts, s.calibrationRunsExport},
		{get, "/psychometrics/exams/:id/calibrations/compare.:format", analysts, s.calibrationCompareExport},
		{get, "/psychometrics/calibrations/:runId", analysts, s.pageCalibrationRun},
		{get, "/psychometrics/calibrations/:runId/parameters.:format", analysts, s.calibrationParameters},
		{get, "/psychometrics/calibrations/:runId/figures/:file", analysts, s.calibrationFigure},
		{get, "/psychometrics/exams/:id/dif", analysts, s.pageDIF},
		{get, "/psychometrics/exams/:id/dif.:format", analysts, s.difExport},
		{get, "/me/demographics", []auth.Role{auth.Candidate}, s.pageDemographics},
		{post, "/me/demographics", []auth.Role{auth.Candidate}, s.postDemographics},
		{get, "/api/v1/exams/:id/calibrations", analysts, s.apiCalibrations},
		{post, "/api/v1/exams/:id/calibrations", analysts, s.apiStartCalibration},
		{get, "/api/v1/calibrations/:id", analysts, s.apiCalibration},
		{get, "/api/v1/exams/:id/dif", analysts, s.apiDIF},
		{get, "/api/v1/me/demographics", []auth.Role{auth.Candidate}, s.apiDemographics},
		{put, "/api/v1/me/demographics", []auth.Role{auth.Candidate}, s.apiSetDemographics},
		// Item review: flags, retirement, and rekeys shown before they are applied.
		{get, "/psychometrics/items/:id", analysts, s.pageItemReview},
		{post, "/psychometrics/items/:id/flag", flaggers, s.postFlagItem},
		{post, "/psychometrics/items/:id/retire", retirers, s.postReviewRetire},
		{post, "/authoring/items/:id/flags/:flagId/resolve", flagResolvers, s.postResolveFlag},
		{get, "/psychometrics/item-versions/:id/rekey", rekeyers, s.pageRekey},
		{post, "/psychometrics/item-versions/:id/rekey/preview", rekeyers, s.postRekeyPreview},
		{post, "/psychometrics/item-versions/:id/rekey", rekeyers, s.postRekey},

		// Item bank.
		{get, "/authoring/items", bankReaders, s.pageBank},
		{get, "/authoring/items/new", authors, s.pageNewItem},
		{post, "/authoring/items", authors, s.postNewItem},
		{post, "/authoring/items/import", authors, s.postImportItems},
		{get, "/authoring/items/:id", bankReaders, s.pageBankItem},
		{post, "/authoring/items/:id", authors, s.postBankItem},
		{post, "/authoring/items/:id/submit", authors, s.postSubmitItem},
		{post, "/authoring/items/:id/approve", reviewers, s.postApproveItem},
		{post, "/authoring/items/:id/request-changes", reviewers, s.postRequestChanges},
		{post, "/authoring/items/:id/retire", retirers, s.postRetireItem},
		{post, "/authoring/items/:id/comments", bankReaders, s.postItemComment},
		{post, "/authoring/items/:id/enemies", authors, s.postItemEnemies},
		{get, "/authoring/review", reviewers, s.pageReview},
		{get, "/authoring/exams/:id", authors, s.pageItems},
		{get, "/api/v1/items", bankReaders, s.apiItems},
		{post, "/api/v1/items", authors, s.apiCreateItem},
		{post, "/api/v1/items/preview", bankReaders, s.apiPreviewItem},
		{post, "/api/v1/items/import", authors, s.apiImportItems},
		{get, "/api/v1/items/export", bankReaders, s.apiExportItems},
		{get, "/api/v1/items/:id", bankReaders, s.apiItem},
		{put, "/api/v1/items/:id", authors, s.apiUpdateItem},
		{post, "/api/v1/items/:id/submit", authors, s.apiSubmitItem},
		{post, "/api/v1/items/:id/approve", reviewers, s.apiApproveItem},
		{post, "/api/v1/items/:id/request-changes", reviewers, s.apiRequestChanges},
		{post, "/api/v1/items/:id/retire", retirers, s.apiRetireItem},
		{get, "/api/v1/items/:id/comments", bankReaders, s.apiItemComments},
		{post, "/api/v1/items/:id/comments", bankReaders, s.apiAddItemComment},
		{put, "/api/v1/items/:id/enemies", authors, s.apiSetEnemies},
		{get, "/api/v1/items/:id/flags", flagReaders, s.apiItemFlags},
		{post, "/api/v1/items/:id/flags", flaggers, s.apiFlagItem},
		{post, "/api/v1/item-flags/:id/resolve", flagResolvers, s.apiResolveFlag},
		{post, "/api/v1/item-versions/:id/rekey/preview", rekeyers, s.apiRekeyPreview},
		{post, "/api/v1/item-versions/:id/rekey", rekeyers, s.apiRekey},

		// JSON API.
		{get, "/api/v1/openapi.json", nil, s.openAPI},
		{post, "/api/v1/session", nil, s.apiLogin},
		{del, "/api/v1/session", signedIn, s.apiLogout},
		{get, "/api/v1/me", signedIn, s.apiMe},
		{get, "/api/v1/me/credentials", signedIn, s.apiMyCredentials},
		{get, "/api/v1/me/pathways", signedIn, s.apiMyPathways},
		{get, "/api/v1/achievements", managers, s.apiAchievements},
		{post, "/api/v1/achievements", managers, s.apiCreateAchievement},
		{get, "/api/v1/achievements/:id", managers, s.apiAchievement},
		{put, "/api/v1/achievements/:id", managers, s.apiUpdateAchievement},
		{post, "/api/v1/achievements/:id/pathways", managers, s.apiCreatePathway},
		{get, "/api/v1/exams", signedIn, s.apiExams},
		{post, "/api/v1/exams", managers, s.apiCreateExam},
		{post, "/api/v1/exams/:id/attempts", []auth.Role{auth.Candidate}, s.apiStartAttempt},
		{put, "/api/v1/exams/:id/policy", managers, s.apiSetPolicy},
		{put, "/api/v1/exams/:id/accommodations/:candidateId", managers, s.apiSetAccommodation},
		{del, "/api/v1/exams/:id/accommodations/:candidateId", managers, s.apiRemoveAccommodation},
		{get, "/api/v1/attempts/:id", signedIn, s.apiAttempt},
		{put, "/api/v1/attempts/:id/responses/:itemId", signedIn, s.apiSaveResponse},
		{post, "/api/v1/attempts/:id/next", signedIn, s.apiNext},
		{post, "/api/v1/attempts/:id/breaks", signedIn, s.apiBreak},
		{post, "/api/v1/attempts/:id/submit", signedIn, s.apiSubmit},
		{get, "/api/v1/attempts/:id/result", signedIn, s.apiResult},
		{post, "/api/v1/attempts/:id/events", signedIn, s.apiRecordEvents},
		{post, "/api/v1/attempts/:id/snapshots", signedIn, s.apiPostSnapshot},
		{get, "/api/v1/attempts/:id/events", proctors, s.apiEvents},
		{get, "/api/v1/attempts/:id/case-file", proctors, s.apiCaseFile},
		{get, "/api/v1/attempts/:id/live", signedIn, s.apiAttemptLive},
		{get, "/api/v1/attempts/:id/messages", signedIn, s.apiAttemptMessages},
		{post, "/api/v1/attempts/:id/messages", proctors, s.apiControl(messageAction)},
		{post, "/api/v1/attempts/:id/hold", proctors, s.apiControl(holdAction)},
		{post, "/api/v1/attempts/:id/resume", proctors, s.apiControl(resumeAction)},
		{post, "/api/v1/attempts/:id/time", proctors, s.apiControl(addTimeAction)},
		{post, "/api/v1/attempts/:id/terminate", proctors, s.apiControl(terminateAction)},
		{get, "/api/v1/reviews", proctors, s.apiReviews},
		{post, "/api/v1/attempts/:id/review", proctors, s.apiOpenReview},
		{post, "/api/v1/attempts/:id/review/decision", proctors, s.apiDecideReview},
		{put, "/api/v1/exams/:id/proctoring", managers, s.apiSetProctoring},
		{get, "/api/v1/proctor/attempts", proctors, s.apiProctorAttempts},
		{get, "/api/v1/proctor/live", proctors, s.apiProctorLive},
		{get, "/api/v1/proctor/checkins", proctors, s.apiProctorCheckins},
		{get, "/api/v1/snapshots/:id", signedIn, s.apiSnapshot},
		{post, "/api/v1/exams/:id/checkins", []auth.Role{auth.Candidate}, s.apiOpenCheckin},
		{get, "/api/v1/exams/:id/checkins", proctors, s.apiPendingCheckins},
		{get, "/api/v1/checkins/:id", signedIn, s.apiCheckin},
		{get, "/api/v1/checkins/:id/live", []auth.Role{auth.Candidate}, s.apiCheckinLive},
		{put, "/api/v1/checkins/:id/system-check", []auth.Role{auth.Candidate}, s.apiCheckinSystem},
		{post, "/api/v1/checkins/:id/probe", []auth.Role{auth.Candidate}, s.apiCheckinProbe},
		{post, "/api/v1/checkins/:id/photos", []auth.Role{auth.Candidate}, s.apiCheckinPhoto},
		{post, "/api/v1/checkins/:id/rules", []auth.Role{auth.Candidate}, s.apiCheckinRules},
		{post, "/api/v1/checkins/:id/submit", []auth.Role{auth.Candidate}, s.apiSubmitCheckin},
		{post, "/api/v1/checkins/:id/admit", proctors, s.apiAdmitCheckin},
		{post, "/api/v1/checkins/:id/reject", proctors, s.apiRejectCheckin},
		{get, "/api/v1/exams/:id/staff", managers, s.apiExamStaff},
		{put, "/api/v1/exams/:id/staff/:userId", managers, s.apiAssignStaff},
		{del, "/api/v1/exams/:id/staff/:userId", managers, s.apiRemoveStaff},
		{put, "/api/v1/programs/:id/retention", managers, s.apiSetRetention},
		{get, "/api/v1/exams/:id/statistics", analysts, s.apiStatistics},
		{get, "/api/v1/exams/:id/standards", analysts, s.apiStandards},
		{post, "/api/v1/standards/:id/approve", managers, s.apiApproveStandard},
		{post, "/api/v1/exams/:id/studies", managers, s.apiCreateStudy},
		{get, "/api/v1/studies/:id", analysts, s.apiStudy},
		{get, "/api/v1/studies/:id/recommendation", analysts, s.apiStudyRecommendation},
		{post, "/api/v1/studies/:id/release", managers, s.apiStudyStep(apiRelease)},
		{post, "/api/v1/studies/:id/rounds", managers, s.apiStudyStep(apiNextRound)},
		{post, "/api/v1/studies/:id/adopt", managers, s.apiStudyStep(apiAdopt)},
		{put, "/api/v1/studies/:id/ratings/:itemId", panelists, s.apiSaveRating},
		{put, "/api/v1/studies/:id/judgements/:kind", panelists, s.apiSaveJudgement},
		{post, "/api/v1/studies/:id/submit", panelists, s.apiSubmitRound},
		{get, "/api/v1/credentials/:id", nil, s.apiCredential},
		{get, "/api/v1/credentials/:id/verification", nil, s.apiVerifyCredential},
		{post, "/api/v1/credentials/:id/revoke", revokers, s.apiRevokeCredential},
		{post, "/api/v1/credentials/:id/suspend", revokers, s.apiSuspendCredential},
		{post, "/api/v1/credentials/:id/reinstate", revokers, s.apiReinstateCredential},
		{put, "/api/v1/credentials/:id/visibility", signedIn, s.apiSetCredentialVisibility},
		{post, "/api/v1/verify", nil, s.apiVerify},
		{get, "/api/v1/audit", admins, s.apiAudit},
	}
}
