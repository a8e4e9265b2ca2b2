from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.requests import AuthenticatedRequest
from companies import selectors, services
from companies.choices import CAN_EDIT, CAN_INVITE, CAN_MANAGE_OWNERS, Role
from companies.forms import CompanyForm, InvitationForm, RoleForm
from companies.models import Company, Invitation, Membership
from companies.permissions import company_membership_required
from compliance.audit import Actor
from config.forms import form_add_service_errors
from equity import selectors as equity_selectors
from tokens import selectors as token_selectors


@login_required
def company_list(request: AuthenticatedRequest) -> HttpResponse:
    memberships = Membership.objects.filter(user=request.user).select_related("company").order_by("company__legal_name")
    return render(request, "companies/list.html", {"memberships": memberships})


@login_required
def company_create(request: AuthenticatedRequest) -> HttpResponse:
    form = CompanyForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            company = services.company_create(
                actor=Actor.from_request(request),
                legal_name=data["legal_name"],
                jurisdiction=data["jurisdiction"],
                incorporation_date=data["incorporation_date"],
                website=data["website"],
                pitch=data["pitch"],
                logo=data["logo"] or None,
                founder_title=data["founder_title"],
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, _("%(name)s is set up. Invite your team next.") % {"name": company.legal_name})
            return redirect("companies:members", slug=company.slug)
    return render(request, "companies/form.html", {"form": form, "creating": True})


@login_required
def company_detail(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    membership = company_membership_required(user=request.user, slug=slug)
    company = membership.company
    context = {
        "company": company,
        "membership": membership,
        "can_edit": membership.role in CAN_EDIT,
        "members": selectors.membership_list(company=company),
        "pending_invitations": company.invitations.pending().count(),
    }
    return render(request, "companies/detail.html", context)


@login_required
def company_edit(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    membership = company_membership_required(user=request.user, slug=slug, roles=CAN_EDIT)
    company = Company.objects.get(pk=membership.company_id)
    form = CompanyForm(request.POST or None, request.FILES or None, instance=company, creating=False)
    if request.method == "POST" and form.is_valid():
        fields = {k: v for k, v in form.cleaned_data.items() if k != "logo"}
        logo = form.cleaned_data.get("logo")
        if logo is False or isinstance(logo, UploadedFile):
            fields["logo"] = logo  # False when "clear" was ticked; otherwise the logo is unchanged
        try:
            services.company_update(actor=Actor.from_request(request), company=membership.company, **fields)
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, _("Company details saved."))
            return redirect("companies:detail", slug=company.slug)
    return render(request, "companies/form.html", {"form": form, "creating": False, "company": membership.company})


@login_required
def company_members(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    membership = company_membership_required(user=request.user, slug=slug)
    company = membership.company
    can_invite = membership.role in CAN_INVITE
    form = InvitationForm(request.POST or None)
    if request.method == "POST":
        if not can_invite:
            raise PermissionDenied
        if form.is_valid():
            try:
                invitation = services.invitation_create(
                    actor=Actor.from_request(request), company=company,
                    email=form.cleaned_data["email"], role=form.cleaned_data["role"],
                )
            except ValidationError as error:
                form_add_service_errors(form, error)
            except PermissionDenied as error:
                form.add_error("role", str(error) or _("Your role does not allow this."))
            else:
                messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
                return redirect("companies:members", slug=company.slug)
    context = {
        "company": company,
        "membership": membership,
        "can_invite": can_invite,
        "can_manage_owners": membership.role in CAN_MANAGE_OWNERS,
        "members": selectors.membership_list(company=company),
        "invitations": selectors.invitation_list(company=company),
        "form": form,
        "role_choices": Role.choices,
    }
    return render(request, "companies/members.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def member_change_role(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    acting = company_membership_required(user=request.user, slug=slug, roles=CAN_INVITE)
    target = get_object_or_404(Membership, pk=pk, company=acting.company)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose owner, admin or viewer."))
        return redirect("companies:members", slug=slug)
    try:
        services.membership_change_role(actor=Actor.from_request(request), membership=target, role=form.cleaned_data["role"])
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    else:
        messages.success(request, _("%(member)s is now %(role)s.") % {"member": target.user, "role": target.get_role_display()})
    return redirect("companies:members", slug=slug)


@login_required
@require_POST
def member_remove(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    acting = company_membership_required(user=request.user, slug=slug)
    target = get_object_or_404(Membership, pk=pk, company=acting.company)
    try:
        services.membership_remove(actor=Actor.from_request(request), membership=target)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error) or _("Your role does not allow this.")])))
        return redirect("companies:members", slug=slug)
    if target.user_id == request.user.pk:
        messages.success(request, _("You left %(company)s.") % {"company": acting.company})
        return redirect("companies:list")
    messages.success(request, _("%(member)s was removed from the team.") % {"member": target.user})
    return redirect("companies:members", slug=slug)


@login_required
@require_POST
def invitation_revoke(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    acting = company_membership_required(user=request.user, slug=slug, roles=CAN_INVITE)
    invitation = get_object_or_404(Invitation, pk=pk, company=acting.company)
    try:
        services.invitation_revoke(actor=Actor.from_request(request), invitation=invitation)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The invitation to %(email)s was withdrawn.") % {"email": invitation.email})
    return redirect("companies:members", slug=slug)


def invitation_respond(request: HttpRequest, token: str) -> HttpResponse:
    """The page an invitation e-mail links to: see who invites you to what, then accept."""
    try:
        invitation = services.invitation_from_token(token)
    except ValidationError as invalid:
        return render(request, "companies/invitation.html", {"error": " ".join(invalid.messages)}, status=400)
    error: str | None = None
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"/accounts/login/?next={request.path}")
        try:
            membership = services.invitation_accept(actor=Actor.from_request(request), token=token)
        except ValidationError as refused:
            error = " ".join(refused.messages)
        else:
            messages.success(request, _("You joined %(company)s as %(role)s.") % {
                "company": membership.company, "role": membership.get_role_display()})
            return redirect("companies:detail", slug=membership.company.slug)
    elif invitation.status != "pending":
        error = {
            "accepted": _("This invitation has already been used."),
            "revoked": _("This invitation was withdrawn by the company."),
            "expired": _("This invitation has expired. Ask the company to send a new one."),
        }[invitation.status]
    context = {"invitation": invitation, "error": error, "token": token}
    return render(request, "companies/invitation.html", context, status=400 if error else 200)


def company_public(request: HttpRequest, slug: str) -> HttpResponse:
    company = get_object_or_404(Company, slug=slug)
    # Only owners and admins who gave a full name are shown: never an e-mail address on a public page.
    team = selectors.membership_list(company=company).exclude(role="viewer").exclude(user__full_name="")
    rounds = equity_selectors.round_list_public(company=company)
    sales = [(sale, token_selectors.sale_totals(sale)) for sale in token_selectors.sale_list_public(company=company)]
    return render(request, "companies/public.html", {"company": company, "team": team, "rounds": rounds,
                                                     "sales": sales})
