"""One hierarchy of refusals: each names the catalogue message that tells a person why nothing
changed, with the parameters it needs. Handlers render them; nothing here does I/O."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal: `key` names the catalogue message, `params` fill it in."""

    key = "error.generic"

    def __init__(self, **params: object) -> None:
        super().__init__(self.key)
        self.params = params


class IntakeError(DomainError):
    """A refusal the tipster is told about, in their language."""


class NoDraft(IntakeError):
    key = "error.no_draft"


class DraftExists(IntakeError):
    """A draft to start while one is open (the dialogue adds to the open one instead)."""

    key = "error.draft_exists"


class WrongStep(IntakeError):
    key = "error.wrong_step"


class UnknownChoice(IntakeError):
    key = "error.unknown_choice"


class DailyLimitReached(IntakeError):
    key = "error.daily_limit"


class TextTooLong(IntakeError):
    key = "error.text_too_long"


class AreaTooLong(IntakeError):
    key = "error.area_too_long"


class EmptyText(IntakeError):
    key = "error.empty_text"


class TooManyItems(IntakeError):
    key = "error.too_many_items"


class TooManyAttachments(IntakeError):
    key = "error.too_many_attachments"


class AttachmentTooLarge(IntakeError):
    key = "error.attachment_too_large"


class ImageUnreadable(IntakeError):
    key = "error.image_unreadable"


class ImageTooLarge(IntakeError):
    """More pixels than a decode may cost (param: limit, in megapixels)."""

    key = "error.image_too_large"


class FileUnreadable(IntakeError):
    """A PDF, document or video that is damaged or not what its first bytes say."""

    key = "error.file_unreadable"


class FileActive(IntakeError):
    """A program, script, shortcut, web page, SVG or XML: it can run code when opened."""

    key = "error.file_active"


class DocumentActive(IntakeError):
    """A document with macros, scripts, attached files or content loaded from elsewhere."""

    key = "error.document_active"


class FileProtected(IntakeError):
    """A document behind a password: the bot cannot look inside to clean it."""

    key = "error.file_protected"


class ArchiveRefused(IntakeError):
    key = "error.file_archive"


class CameraRawRefused(IntakeError):
    key = "error.camera_raw"


class AudioFileRefused(IntakeError):
    """Audio sent as a file: refused for the reason voice messages are."""

    key = "refuse.audio"


class FileNotCleanable(IntakeError):
    """A kind of file the bot cannot check for hidden data."""

    key = "error.file_unknown"


class FileTooHeavy(IntakeError):
    """Cleaning it needed more memory or time than the worker may use, or crashed it."""

    key = "error.file_too_heavy"


class NothingToSubmit(IntakeError):
    key = "error.nothing_to_submit"


class ReceiptMalformed(IntakeError):
    key = "error.receipt_malformed"


class ReceiptUnknown(IntakeError):
    key = "error.receipt_unknown"


class ReceiptRateLimited(IntakeError):
    key = "error.receipt_rate_limited"


class ReviewError(DomainError):
    """A refusal a staff member (review or finance) is told about, in the staff language."""

    key = "staff.error.generic"


class TipNotFound(ReviewError):
    key = "staff.error.not_found"


class NotNow(ReviewError):
    """The tip has moved on: the action is not allowed in its current state."""

    key = "staff.error.not_now"


class HeldByOther(ReviewError):
    key = "staff.error.held"


class RaceLost(ReviewError):
    key = "staff.error.race_lost"


class NoContact(ReviewError):
    key = "staff.error.no_contact"


class BadOriginal(ReviewError):
    key = "staff.error.bad_original"


class TextMissing(ReviewError):
    key = "staff.error.text_missing"


class TextTooLongForStaff(ReviewError):
    key = "staff.error.text_too_long"


class PromptAnswered(ReviewError):
    """The prompt a reply answers is gone: another reply to it was applied first."""

    key = "staff.error.prompt_answered"


class AnswerClosed(DomainError):
    """The tipster's answer window is not open (or the tip no longer takes answers)."""

    key = "answer.closed"


class RewardError(ReviewError):
    """A refusal of the reward scheme (proposal, approval, payout)."""


class NotVerified(RewardError):
    key = "reward.error.not_verified"


class AlreadyRewarded(RewardError):
    key = "reward.error.already"


class UnknownTier(RewardError):
    key = "reward.error.unknown_tier"


class AmountOutOfRange(RewardError):
    key = "reward.error.amount_range"


class JustificationMissing(RewardError):
    key = "reward.error.justification"


class ProposerCannotApprove(RewardError):
    key = "reward.error.own_proposal"


class CaseWorkerCannotApprove(RewardError):
    """The approver held the tip or moved it to verified: their own case."""

    key = "reward.error.own_case"


class ApproverCannotPay(RewardError):
    """Whoever approved a reward may not also record its payout."""

    key = "reward.error.approver_pays"


class NotYourPayout(RewardError):
    """A payout is continued ("ID checked", the voucher) only by the person who ran /paid."""

    key = "reward.error.not_your_payout"


class AlreadyApproved(RewardError):
    key = "reward.error.already_approved"


class RewardMovedOn(RewardError):
    key = "reward.error.moved_on"


class NoRewardToRepost(RewardError):
    """/repost in a finance chat: the tip has no reward in progress there."""

    key = "reward.error.none_to_repost"


class OverBudget(RewardError):
    key = "reward.error.over_budget"


class CodeMalformed(RewardError):
    key = "reward.error.code_malformed"


class CodeUnknown(RewardError):
    key = "reward.error.code_unknown"


class CodeRateLimited(RewardError):
    key = "reward.error.code_rate_limited"


class IdNotChecked(RewardError):
    key = "reward.error.id_not_checked"


class VoucherMissing(RewardError):
    key = "reward.error.voucher"


class OutcomeFormat(ReviewError):
    """The outcome reply cannot be read; `part` names the piece at fault."""

    key = "outcome.error.format"


class OutcomeNoCase(ReviewError):
    key = "outcome.error.no_case"


class OutcomeUnknownDrug(ReviewError):
    key = "outcome.error.unknown_drug"


class OutcomeNoteTooLong(ReviewError):
    key = "outcome.error.note_too_long"


class OutcomeNotVerified(ReviewError):
    key = "outcome.error.not_verified"


class CaseAlreadyRewarded(RewardError):
    """Another tip of the same police case already has a reward: one reward per case."""

    key = "reward.error.case_rewarded"
